package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/keyward/keyward"
)

// MaxBodyBytes caps request bodies (413 above 1 MiB: README, Error codes).
const MaxBodyBytes = 1 << 20

// decode reads a JSON request body into dst strictly: JSON content type,
// at most 1 MiB, valid UTF-8, no unknown fields, no member given twice or
// in another case (checkMembers), no trailing data. An empty
// body leaves dst as it is (for endpoints whose body is optional).
func decode(r *http.Request, dst any, optional bool) error {
	return decodeBody(r, dst, optional, nil)
}

// decodeBody is decode, then inspect (when set) on the body it decoded:
// the body's buffer is reused once decodeBody returns.
func decodeBody(r *http.Request, dst any, optional bool, inspect func(body []byte) error) error {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 { // keep only small buffers
			buf.Reset()
			bodyBuffers.Put(buf)
		}
	}()
	if err := readLimited(buf, r.Body, MaxBodyBytes+1); err != nil {
		return keyward.Errorf(keyward.CodeInvalidRequest, "The request body could not be read")
	}
	if buf.Len() > MaxBodyBytes {
		return keyward.Errorf(keyward.CodePayloadTooLarge, "The request body is larger than 1 MiB")
	}
	// Read to its end: closed, net/http has nothing left to discard (it
	// would allocate a reader per request to find that out).
	_ = r.Body.Close()
	body := buf.Bytes() // decoding copies what it keeps, so the buffer can be reused
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return keyward.Errorf(keyward.CodeInvalidRequest, "A JSON request body is required")
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return keyward.Errorf(keyward.CodeUnsupportedMediaType, "Send the request body as JSON with Content-Type: application/json")
	}
	if !utf8.Valid(body) {
		return keyward.Errorf(keyward.CodeInvalidRequest, "The request body is not valid UTF-8")
	}
	if in, ok := dst.(*keyward.VerifyInput); ok && decodeVerifyFast(body, in) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() || dec.InputOffset() < int64(len(bytes.TrimRight(body, " \t\r\n"))) {
		return keyward.Errorf(keyward.CodeInvalidRequest, "The request body has data after the JSON value")
	}
	if err := checkMembers(body, reflect.TypeOf(dst)); err != nil {
		return err
	}
	if inspect != nil {
		return inspect(body)
	}
	return nil
}

// readLimited reads body into buf until its end or until buf holds limit
// bytes, straight into buf's free space: unlike io.LimitReader or
// http.MaxBytesReader, it allocates no reader of its own on each request.
func readLimited(buf *bytes.Buffer, body io.Reader, limit int) error {
	for buf.Len() < limit {
		buf.Grow(512)
		space := buf.AvailableBuffer()
		n, err := body.Read(space[:min(cap(space), limit-buf.Len())])
		buf.Write(space[:n]) // in place: space is buf's own free space
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// bodyBuffers hold request bodies while they are decoded.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// isJSON reports whether a Content-Type names JSON (application/json or
// any +json type, with or without parameters).
func isJSON(ct string) bool {
	if ct == "application/json" { // the usual case, without parsing
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// jsonError turns a decoding error into INVALID_REQUEST naming the field.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		if typeErr.Type == durationType { // its own UnmarshalJSON refused it
			return keyward.Invalid(keyward.FieldError{Field: field, Problem: keyward.DurationProblem})
		}
		return keyward.Invalid(keyward.FieldError{Field: field, Problem: "must be " + jsonKind(typeErr.Type.Kind().String())})
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return keyward.Errorf(keyward.CodeInvalidRequest, "The request body is not valid JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if len(field) > 60 || !utf8.ValidString(field) {
			field = "(unnamed)"
		}
		return keyward.Invalid(keyward.FieldError{Field: field, Problem: "is not a known field"})
	}
	// Errors from the types' own UnmarshalJSON (durations, times).
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120]
	}
	return keyward.Invalid(keyward.FieldError{Field: "body", Problem: strings.ToValidUTF8(msg, "")})
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "of another type"
}

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if v != nil && !writeFast(w, v) {
		_ = json.NewEncoder(w).Encode(v)
	}
}
