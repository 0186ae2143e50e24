package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// BenchmarkWhoamiInProcess measures one authenticated GET /v1/whoami
// through the whole handler (request id, auth, SQLite digest lookup, JSON,
// log and metrics), without the network.
func BenchmarkWhoamiInProcess(b *testing.B) {
	srv := kwtest.NewServer(b)
	p := srv.MustProject(b, "bench")
	k := srv.MustKey(b, nil, p.ID, keyward.CreateKeyInput{})
	req := httptest.NewRequest("GET", "/v1/whoami", nil)
	req.Header.Set("x-api-key", k.Secret)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		srv.API.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkWhoamiLoopback is the same over a real loopback connection
// (keep-alive), in parallel.
func BenchmarkWhoamiLoopback(b *testing.B) {
	srv := kwtest.NewServer(b)
	p := srv.MustProject(b, "bench")
	k := srv.MustKey(b, nil, p.ID, keyward.CreateKeyInput{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/whoami", nil)
		req.Header.Set("x-api-key", k.Secret)
		for pb.Next() {
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	})
}

// BenchmarkRejectInProcess measures the failure paths: a well-formed key
// that matches nothing and a revoked key take the same path (a digest
// lookup that finds nothing) and should cost the same; a malformed key is
// refused before any lookup.
func BenchmarkRejectInProcess(b *testing.B) {
	for _, name := range []string{"unknown", "revoked", "malformed"} {
		// A fresh server per run: with -count, every run of every case
		// would otherwise spend the same addresses' failure budget.
		b.Run(name, func(b *testing.B) {
			srv := kwtest.NewServer(b)
			key := "kwp_" + strings.Repeat("0", 36)
			switch name {
			case "unknown":
				key = apikey.Generate(apikey.PrefixProject)
			case "revoked":
				p := srv.MustProject(b, "bench")
				revoked := srv.MustKey(b, nil, p.ID, keyward.CreateKeyInput{})
				if _, err := srv.Service.RevokeKey(b.Context(), srv.Owner(), service.Where{ProjectID: p.ID}, revoked.ID, keyward.RevokeInput{}); err != nil {
					b.Fatal(err)
				}
				key = revoked.Secret
			}
			benchReject(b, srv, key)
		})
	}
}

func benchReject(b *testing.B, srv *kwtest.Server, key string) {
	req := httptest.NewRequest("GET", "/v1/whoami", nil)
	req.Header.Set("x-api-key", key)
	// Failures are throttled per client address (60 a minute): spread the
	// requests over 65,536 addresses, made before the timed loop.
	addrs := make([]string, 1<<16)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("10.9.%d.%d:1234", i>>8, i&0xff)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req.RemoteAddr = addrs[i%len(addrs)]
		i++
		w := httptest.NewRecorder()
		srv.API.ServeHTTP(w, req)
		if w.Code != 401 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// rewindBody is a request body that can be read again, without an
// allocation per request.
type rewindBody struct{ *bytes.Reader }

func (rewindBody) Close() error { return nil }

// BenchmarkVerifyInProcess measures one POST /v1/verify of a valid cached
// key through the whole handler, without the network.
func BenchmarkVerifyInProcess(b *testing.B) {
	srv := kwtest.NewServer(b)
	p := srv.MustProject(b, "bench")
	caller := srv.MustKey(b, nil, p.ID, keyward.CreateKeyInput{Name: "backend"})
	k := srv.MustKey(b, nil, p.ID, keyward.CreateKeyInput{Name: "customer", Metadata: map[string]string{"plan": "pro"}})
	payload := []byte(`{"key":"` + k.Secret + `","scopes":["keys:read"]}`)
	body := rewindBody{bytes.NewReader(payload)}
	req := httptest.NewRequest("POST", "/v1/verify", nil)
	req.Header.Set("x-api-key", caller.Secret)
	req.Header.Set("Content-Type", "application/json")
	req.Body = body
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(payload)
		w := httptest.NewRecorder()
		srv.API.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkServerRaw sends requests one after another on one keep-alive
// loopback connection to a real net/http server, from a client that
// allocates nothing: its allocs/op are the server's per request, as a
// load tool would see them.
func BenchmarkServerRaw(b *testing.B) {
	srv := kwtest.NewServer(b)
	p := srv.MustProject(b, "bench")
	caller := srv.MustKey(b, nil, p.ID, keyward.CreateKeyInput{Name: "backend"})
	k := srv.MustKey(b, nil, p.ID, keyward.CreateKeyInput{Name: "customer", Metadata: map[string]string{"plan": "pro"}})
	host := strings.TrimPrefix(srv.URL, "http://")
	body := `{"key":"` + k.Secret + `"}`
	for _, c := range []struct{ name, req string }{
		{"whoami", "GET /v1/whoami HTTP/1.1\r\nHost: " + host + "\r\nX-Api-Key: " + caller.Secret + "\r\n\r\n"},
		{"verify", "POST /v1/verify HTTP/1.1\r\nHost: " + host + "\r\nX-Api-Key: " + caller.Secret +
			"\r\nContent-Type: application/json\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + body},
	} {
		b.Run(c.name, func(b *testing.B) {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			req := []byte(c.req)
			buf := make([]byte, 8192)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := conn.Write(req); err != nil {
					b.Fatal(err)
				}
				if err := readResponse(conn, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// readResponse reads one HTTP/1.1 response with a Content-Length into buf
// and checks its status is 200.
func readResponse(conn net.Conn, buf []byte) error {
	n := 0
	for {
		m, err := conn.Read(buf[n:])
		if err != nil {
			return err
		}
		n += m
		head, rest, ok := bytes.Cut(buf[:n], []byte("\r\n\r\n"))
		if !ok {
			continue
		}
		if !bytes.HasPrefix(head, []byte("HTTP/1.1 200 ")) {
			return fmt.Errorf("response %q", head)
		}
		i := bytes.Index(head, []byte("Content-Length: "))
		if i < 0 {
			return fmt.Errorf("no Content-Length in %q", head)
		}
		cl := 0
		for _, c := range head[i+len("Content-Length: "):] {
			if c < '0' || c > '9' {
				break
			}
			cl = cl*10 + int(c-'0')
		}
		if len(rest) >= cl {
			return nil
		}
	}
}
