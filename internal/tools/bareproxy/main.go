// Command bareproxy is the baseline of keyward proxy's throughput: an
// httputil.ReverseProxy to one upstream, with nothing else. proxyab runs
// it next to `keyward proxy`.
//
//	go run ./internal/tools/bareproxy -addr 127.0.0.1:19002 -upstream http://127.0.0.1:19000
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:19002", "address to listen on")
	upstream := flag.String("upstream", "http://127.0.0.1:19000", "where requests go")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
		// The same pool as keyward proxy's, so that the comparison is of
		// the work per request, not of connection reuse.
		Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: 90 * time.Second},
		ErrorLog:  log.New(io.Discard, "", 0), // wrk ends its connections mid-request at the end of a round
	}
	srv := &http.Server{Addr: *addr, Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
