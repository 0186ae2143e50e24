package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyward/keyward/internal/kwtest"
)

const (
	testTimeout = 4 * time.Minute  // a whole test, browser start included (TestAccessibility visits every page four times: 2 min was too little under -race on a busy machine)
	stepTimeout = 15 * time.Second // one step: a wait that does not come true fails here
)

// chromium finds the browser binary, or "" when there is none.
func chromium() string {
	if p := os.Getenv("KEYWARD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// harness is one test's keyward server and browser.
type harness struct {
	t     *testing.T
	srv   *kwtest.Server
	alloc context.Context
	first context.Context // the first tab; it owns the browser
}

// newHarness starts a keyward and a headless Chromium for t, or skips t
// when no Chromium is installed (fails instead with
// KEYWARD_REQUIRE_BROWSER=1).
func newHarness(t *testing.T) *harness {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the browser tests")
	}
	path := chromium()
	if path == "" {
		msg := "no Chromium found (looked for chromium, chromium-browser, google-chrome, headless-shell on PATH; set KEYWARD_CHROMIUM); apt-get install -y chromium"
		if os.Getenv("KEYWARD_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + " — and KEYWARD_REQUIRE_BROWSER=1 makes the browser tests mandatory")
		}
		t.Skip(msg)
	}
	srv := kwtest.NewServer(t)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), testTimeout)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 800),
		chromedp.UserDataDir(t.TempDir()),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(func() { cancelAlloc(); cancelTimeout() })
	return &harness{t: t, srv: srv, alloc: alloc}
}

// browser is one tab with its own cookies (its own browser context).
type browser struct {
	t   *testing.T
	h   *harness
	ctx context.Context
}

// tab opens a tab with a cookie jar of its own, so that several users can
// be signed in at once.
func (h *harness) tab() *browser {
	h.t.Helper()
	var ctx context.Context
	var cancel context.CancelFunc
	if h.first == nil {
		ctx, cancel = chromedp.NewContext(h.alloc)
	} else {
		ctx, cancel = chromedp.NewContext(h.first, chromedp.WithNewBrowserContext())
	}
	if err := chromedp.Do(ctx); err != nil { // starts the browser or the tab
		cancel()
		h.t.Fatalf("start Chromium: %v", err)
	}
	if h.first == nil {
		h.first = ctx
	}
	// Uncaught exceptions and console errors (a CSP refusal, say) are
	// collected and reported: a page that throws is broken for the user.
	var mu sync.Mutex
	var problems, notes []string
	done := make(chan struct{})
	msgs := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			// Chromium asks for /favicon.ico by itself; its 404 is no
			// page's doing. Other console errors are logged, and
			// exceptions and CSP refusals fail the test.
			if m.Type != chromedp.ConsoleError && !m.IsException() || strings.Contains(m.URL, "/favicon.ico") {
				continue
			}
			text := fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1)
			mu.Lock()
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				problems = append(problems, text)
			} else {
				notes = append(notes, text)
			}
			mu.Unlock()
		}
	}()
	h.t.Cleanup(func() {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, n := range notes {
			h.t.Logf("browser console: %s", n)
		}
		for _, p := range problems {
			h.t.Errorf("browser console: %s", p)
		}
	})
	return &browser{t: h.t, h: h, ctx: ctx}
}

// do runs steps, each group within stepTimeout, and fails the test with
// what the user was doing.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// poll waits until the expression is truthy, failing with what. A page
// that navigates away meanwhile (a form's POST landing) is polled again.
func (b *browser) poll(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(stepTimeout)))
		if err == nil {
			return
		}
		if ctx.Err() != nil || errors.Is(err, chromedp.ErrPollingTimeout) {
			b.t.Fatalf("waiting until %s (%s): %v", what, expr, err)
		}
		// The document went away under the poll: wait for the next one.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`document.readyState`)); err != nil && ctx.Err() != nil {
			b.t.Fatalf("waiting until %s: %v", what, err)
		}
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// count is the number of elements sel matches now.
func (b *browser) count(sel string) int {
	b.t.Helper()
	return eval[int](b, fmt.Sprintf(`document.querySelectorAll(%s).length`, js(sel)))
}

// js quotes s as a JavaScript string.
func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// visible selects the elements sel matches that are rendered (have a box).
func visible(sel string) chromedp.JSPath {
	return chromedp.JSPath(fmt.Sprintf(`[...document.querySelectorAll(%s)].filter(e => e.getClientRects().length > 0)`, js(sel)))
}

// signIn signs in through the login form and waits for the signed-in page.
func (b *browser) signIn(email, password string) {
	b.t.Helper()
	b.do("sign in as "+email,
		chromedp.Navigate(b.h.srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("form#login")),
		chromedp.SendKeys(chromedp.CSS("form#login input#email"), email),
		chromedp.SendKeys(chromedp.CSS("form#login input#password"), password),
		chromedp.Click(chromedp.CSS("form#login button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("form#logout button")),
	)
}

func (h *harness) keysURL(projectID, status string) string {
	u := h.srv.URL + "/orgs/" + h.srv.OrgID + "/projects/" + projectID + "/keys"
	if status != "" {
		u += "?status=" + status
	}
	return u
}

// openKeys loads a project's keys page.
func (b *browser) openKeys(projectID, status string) {
	b.t.Helper()
	b.do("open the keys page", chromedp.Navigate(b.h.keysURL(projectID, status)), chromedp.WaitVisible(chromedp.CSS("table#keys")))
}

func row(keyID string) string { return fmt.Sprintf(`table#keys tr[data-key-id=%q]`, keyID) }

// openMenu clicks a row's ⋯ button and waits for its menu.
func (b *browser) openMenu(keyID string) {
	b.t.Helper()
	btn := row(keyID) + ` button.actions[aria-haspopup=menu]`
	b.do("open the ⋯ menu of "+keyID,
		chromedp.WaitVisible(chromedp.CSS(btn)),
		chromedp.Click(chromedp.CSS(btn)),
		chromedp.WaitVisible(visible(`[role=menu] button[role=menuitem]`)),
	)
	if got := eval[string](b, fmt.Sprintf(`document.querySelector(%s).getAttribute("aria-expanded")`, js(btn))); got != "true" {
		b.t.Errorf("%s: aria-expanded = %q with the menu open, want \"true\"", btn, got)
	}
}

// menuItems lists the data-action of the visible menu's items.
func (b *browser) menuItems() []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll('[role=menu] button[role=menuitem]')].filter(e => e.getClientRects().length > 0).map(e => e.dataset.action)`)
}

// clickMenuItem clicks the visible menu's item for action.
func (b *browser) clickMenuItem(action string) {
	b.t.Helper()
	b.do("choose "+action+" in the menu", chromedp.Click(visible(fmt.Sprintf(`[role=menu] button[role=menuitem][data-action=%q]`, action))))
}

// rowByName waits for the row whose name cell is name and returns its key id.
func (b *browser) rowByName(name string) string {
	b.t.Helper()
	expr := fmt.Sprintf(`[...document.querySelectorAll('table#keys tr[data-key-id]')].filter(r => r.querySelector('td[data-col=name]')?.textContent.trim() === %s).map(r => r.dataset.keyId)[0] || ""`, js(name))
	b.poll("a row named "+name, expr)
	return eval[string](b, expr)
}

// secret reads the secret shown once: it is in the modal
// dialog#secret-once with focus on code#secret, a Copy button and a
// warning that it will not be shown again. Done closes the dialog.
func (b *browser) secret() string {
	b.t.Helper()
	b.do("wait for the secret", chromedp.WaitVisible(chromedp.CSS("dialog#secret-once code#secret")))
	b.poll("dialog#secret-once is modal", `document.querySelector('dialog#secret-once').open && document.querySelector('dialog#secret-once').matches(':modal')`)
	if !eval[bool](b, `document.activeElement === document.querySelector('dialog#secret-once code#secret')`) {
		b.t.Errorf("with the secret shown, focus is on %q, want code#secret", eval[string](b, `document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : ""`))
	}
	s := b.text("dialog#secret-once code#secret")
	if b.count("dialog#secret-once button#copy-secret") != 1 {
		b.t.Errorf("dialog#secret-once: want a button#copy-secret, found none")
	}
	warn := strings.ToLower(b.text("dialog#secret-once"))
	if !strings.Contains(warn, "will not be shown again") {
		b.t.Errorf("dialog#secret-once: want a plain warning that the secret will not be shown again; text is %q", warn)
	}
	b.do("Done", chromedp.Click(chromedp.CSS("dialog#secret-once button#secret-done")))
	b.poll("the secret dialog closes", `!document.querySelector('dialog#secret-once').open`)
	return s
}

// screenshot saves png as name in the test's temp dir, and in
// $KEYWARD_SCREENSHOTS when set.
func (b *browser) screenshot(name string, full bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	var png []byte
	var err error
	if full {
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	} else {
		png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
	}
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{b.t.TempDir()}
	if d := os.Getenv("KEYWARD_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("screenshot %s", p)
	}
}

// whoami calls GET /v1/whoami with secret in x-api-key and returns the
// status, the error code (if any) and the key id (if 200).
func (h *harness) whoami(secret string) (status int, code, keyID string) {
	h.t.Helper()
	req, err := http.NewRequest("GET", h.srv.URL+"/v1/whoami", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("x-api-key", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("GET /v1/whoami: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		KeyID string `json:"key_id"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		h.t.Fatalf("GET /v1/whoami: %d, body: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, body.Error.Code, body.KeyID
}

// mustWork checks that secret authenticates.
func (h *harness) mustWork(what, secret string) {
	h.t.Helper()
	if st, code, _ := h.whoami(secret); st != 200 {
		h.t.Errorf("%s: GET /v1/whoami = %d %s, want 200", what, st, code)
	}
}
