// Package browsertest drives the dashboard in a real headless Chromium
// (through chromedp) against a real keyward from kwtest, and checks what a
// user sees: the pages, ids and attributes of docs/dashboard-contract.md.
//
// Without a Chromium the tests skip, unless KEYWARD_REQUIRE_BROWSER=1 (as
// in CI), when they fail. KEYWARD_CHROMIUM names the browser binary;
// KEYWARD_SCREENSHOTS=dir also saves the screenshots there (the README's
// are made with KEYWARD_SCREENSHOTS=$PWD/docs/screenshots).
package browsertest
