package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/keyward/keyward/internal/kwtest"
)

// Every exchange of this package's tests with a test server is checked
// against the OpenAPI document the server serves, so that the document
// cannot drift from what the server does:
//
//   - every answer to a request for an operation of the document matches
//     it: a declared status, its headers, its body;
//   - a request the document refuses is refused by the server: with a
//     4xx, and for a malformed parameter or body with 400 (or an earlier
//     refusal: the key, the body's size or type).
//
// Tests send malformed requests on purpose; those are not failures, as
// long as the server refuses them.
func TestMain(m *testing.M) {
	kwtest.Check = checkExchanges
	code := m.Run()
	if os.Getenv("KEYWARD_OPENAPI_REPORT") != "" {
		report.Lock()
		fmt.Fprintf(os.Stderr, "OpenAPI: %d exchanges checked, %d requests the document refuses; %d it allows got 400:\n%s",
			report.checked, report.refused, len(report.allowed400), strings.Join(report.allowed400, "\n"))
		report.Unlock()
	}
	os.Exit(code)
}

// checkExchanges wraps a test server's handler with the checks above,
// reported on t.
func checkExchanges(t testing.TB, h http.Handler) http.Handler {
	if _, bench := t.(*testing.B); bench {
		return h // benchmarks measure the server alone
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		router, err := documentRouter(h)
		if err != nil {
			t.Errorf("OpenAPI document: %v", err)
			h.ServeHTTP(w, r)
			return
		}
		route, params, err := router.FindRoute(r)
		if err != nil { // not an operation of the document (the dashboard, /metrics, another method)
			h.ServeHTTP(w, r)
			return
		}
		body := &teeBody{ReadCloser: r.Body}
		r.Body = body
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)

		name := r.Method + " " + r.URL.RequestURI()
		in := &openapi3filter.RequestValidationInput{
			Request: r.Clone(context.Background()), PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: credentialPresent, ExcludeRequestBody: !body.eof},
		}
		in.Request.Body = io.NopCloser(bytes.NewReader(body.buf.Bytes()))
		reqErr := openapi3filter.ValidateRequest(context.Background(), in)
		report.add(reqErr, rec.status, fmt.Sprintf("  %s %.200s: %.200s", name, body.buf.Bytes(), rec.body.Bytes()))

		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: rec.status, Header: rec.Header(),
			Options: &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: isStream(rec.Header())},
		}
		out.SetBodyBytes(rec.body.Bytes())
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s (%s): the answer %d does not match the OpenAPI document: %v\nbody: %.600s", name, route.Operation.OperationID, rec.status, err, rec.body.Bytes())
		}
		if reqErr != nil {
			if problem := refusalProblem(reqErr, rec.status); problem != "" {
				t.Errorf("%s (%s): the OpenAPI document refuses the request (%v), but %s", name, route.Operation.OperationID, reqErr, problem)
			}
		}
	})
}

// refusalProblem says what is wrong with status as the answer to a
// request the document refused with err, or "".
func refusalProblem(err error, status int) string {
	var sec *openapi3filter.SecurityRequirementsError
	switch {
	case status < 400:
		return fmt.Sprintf("the server accepted it (%d)", status)
	case errors.As(err, &sec):
		return "" // no credential: 401, or a proxy's misconfiguration (forward authentication)
	}
	switch status {
	case http.StatusBadRequest,
		// Refusals that come before parameters and bodies are read.
		http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests,
		http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return ""
	}
	return fmt.Sprintf("the server answered %d, not 400", status)
}

// report counts the exchanges checked. With KEYWARD_OPENAPI_REPORT set,
// TestMain lists the requests the document allows that got 400: what the
// document could state and does not yet (some it cannot: a member given
// twice, a time in the past).
var report exchangeReport

type exchangeReport struct {
	sync.Mutex
	checked, refused int
	allowed400       []string
}

// count is how many exchanges were checked so far.
func (r *exchangeReport) count() int {
	r.Lock()
	defer r.Unlock()
	return r.checked
}

func (r *exchangeReport) add(reqErr error, status int, line string) {
	r.Lock()
	defer r.Unlock()
	r.checked++
	switch {
	case reqErr != nil:
		r.refused++
	case status == http.StatusBadRequest:
		r.allowed400 = append(r.allowed400, line)
	}
}

var document struct {
	once   sync.Once
	router routers.Router
	err    error
}

// documentRouter finds operations in the document h serves, read once.
func documentRouter(h http.Handler) (routers.Router, error) {
	document.once.Do(func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(rec.Body.Bytes())
		if err == nil {
			err = doc.Validate(loader.Context)
		}
		if err == nil {
			document.router, err = gorillamux.NewRouter(doc)
		}
		document.err = err
	})
	return document.router, document.err
}

// credentialPresent passes a security scheme when the request carries
// its credential at all: whether the key is good is the server's
// business.
func credentialPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header
	s := in.SecurityScheme
	switch {
	case s.Type == "apiKey" && s.In == "header" && h.Get(s.Name) != "":
		return nil
	case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer") && len(h.Get("Authorization")) > len("Bearer ") &&
		strings.EqualFold(h.Get("Authorization")[:len("Bearer ")], "Bearer "):
		return nil
	}
	return fmt.Errorf("no %s credential", in.SecuritySchemeName)
}

func isStream(h http.Header) bool { return h.Get("Content-Type") == "text/event-stream" }

// teeBody keeps what the handler reads of a request body, and whether
// it read it to its end.
type teeBody struct {
	io.ReadCloser
	buf bytes.Buffer
	eof bool
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.buf.Write(p[:n])
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// recorder passes an answer through and keeps its status and body.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	if r.body.Len() < 4<<20 {
		r.body.Write(p)
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (event
// streams flush and clear their read deadline).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
