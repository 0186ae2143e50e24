package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// On an empty store, serve prints a one-time setup link; the link opens the
// setup page, creates the first owner and org once, and then stops working.
func TestServePrintsAWorkingSetupLink(t *testing.T) {
	t.Setenv("KEYWARD_DATABASE", "sqlite:"+t.TempDir()+"/k.db")
	t.Setenv("KEYWARD_ADDR", "127.0.0.1:0")
	t.Setenv("KEYWARD_LOG_FORMAT", "json")
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := newRootCmd()
		root.SetArgs([]string{"serve"})
		root.SetErr(pw)
		root.SetOut(io.Discard)
		done <- root.ExecuteContext(ctx)
		pw.Close()
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	linkRE := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/setup\?token=([A-Za-z0-9_-]+)`)
	lines := bufio.NewScanner(pr)
	var base, token string
	for lines.Scan() { // the link is printed once the server listens
		if m := linkRE.FindStringSubmatch(lines.Text()); m != nil {
			base, token = m[1], m[2]
			break
		}
	}
	if token == "" {
		t.Fatal("serve printed no setup link")
	}
	go io.Copy(io.Discard, pr) // keep draining the logs

	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(base + "/setup?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), "<form") {
		t.Fatalf("setup page: %d %.200s", res.StatusCode, page)
	}
	form := url.Values{"token": {token}, "org": {"Acme"}, "email": {"first@example.com"}, "password": {"first owner password"}}
	post := func() *http.Response {
		req, _ := http.NewRequest("POST", base+"/setup", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if res := post(); res.StatusCode >= 400 {
		t.Fatalf("setup: %d", res.StatusCode)
	}
	if res := post(); res.StatusCode != http.StatusNotFound {
		t.Fatalf("second use of the setup link: %d, want 404", res.StatusCode)
	}
}
