// Package client is the Go SDK of keyward: a client for every endpoint of
// the HTTP API (docs/openapi.json) and a net/http middleware that protects a handler
// with keyward keys.
//
// A Client reads KEYWARD_URL, KEYWARD_API_KEY and KEYWARD_ORG_API_KEY by
// default. Project calls (Keys, Whoami, Audit, Verify) send the project key
// in x-api-key; org calls (everything under Org) send the org key in
// x-org-api-key. A call made without the key it needs fails at once, without
// a request. Failed calls return an *Error (which is *keyward.Error, the
// server's own error type) with the API's code, status, request id and the
// fields at fault, so keyward.ErrorCode(err) works too:
//
//	c, err := client.New()
//	if err != nil { … }
//	k, err := c.Keys().Create(ctx, keyward.CreateKeyInput{Name: "CI"})
//	var kerr *client.Error
//	if errors.As(err, &kerr) && kerr.Code == keyward.CodeKeyLimitReached { … }
//
// Idempotent calls (reads, deletes and key revokes) are retried on network
// errors and on 429, 502, 503 and 504; calls that create or change
// something are never retried, so a lost response cannot create two keys.
package client

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Environment variables read by New.
const (
	EnvURL       = "KEYWARD_URL"
	EnvAPIKey    = "KEYWARD_API_KEY"
	EnvOrgAPIKey = "KEYWARD_ORG_API_KEY"
)

// DefaultURL is the server address used when neither WithBaseURL nor
// KEYWARD_URL gives one.
const DefaultURL = "http://127.0.0.1:8080"

// DefaultRetries is how many times an idempotent call is retried.
const DefaultRetries = 2

// defaultUserAgent names the SDK in the User-Agent header.
const defaultUserAgent = "keyward-go"

// Client calls a keyward server. It is safe for concurrent use.
type Client struct {
	baseURL   *url.URL
	apiKey    string
	orgAPIKey string
	// Where each key came from (an environment variable or an option), for
	// messages about a key that is missing or does not work.
	apiKeyFrom, orgAPIKeyFrom string
	hc                        *http.Client
	userAgent                 string
	retries                   int

	// Backoff between retries: minBackoff doubles each attempt up to
	// maxBackoff, with jitter. A Retry-After longer than maxRetryAfter is
	// not waited for: the error is returned instead.
	minBackoff    time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	// sleep waits between attempts; tests replace it.
	sleep func(ctxDone <-chan struct{}, d time.Duration) bool
}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL sets the server's base URL, e.g. "https://keys.example.com".
// It overrides KEYWARD_URL.
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := parseBaseURL(raw)
		if err != nil {
			return err
		}
		c.baseURL = u
		return nil
	}
}

// WithAPIKey sets the project key (kwp_…) used by project calls. It
// overrides KEYWARD_API_KEY.
func WithAPIKey(key string) Option {
	return func(c *Client) error {
		c.apiKey, c.apiKeyFrom = strings.TrimSpace(key), "client.WithAPIKey"
		return nil
	}
}

// WithOrgAPIKey sets the org key (kwo_…) used by org calls. It overrides
// KEYWARD_ORG_API_KEY.
func WithOrgAPIKey(key string) Option {
	return func(c *Client) error {
		c.orgAPIKey, c.orgAPIKeyFrom = strings.TrimSpace(key), "client.WithOrgAPIKey"
		return nil
	}
}

// WithHTTPClient sets the HTTP client used for requests. The default one
// has a 30-second timeout and does not follow redirects, so a redirect can
// never carry a key header to another host; a client set here should not
// follow redirects to other hosts either.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("keyward: WithHTTPClient: nil *http.Client")
		}
		c.hc = hc
		return nil
	}
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) error { c.userAgent = ua; return nil }
}

// WithRetries sets how many times an idempotent call is retried after a
// network error or a 429, 502, 503 or 504 (default 2; 0 disables retries).
func WithRetries(n int) Option {
	return func(c *Client) error {
		if n < 0 {
			return fmt.Errorf("keyward: WithRetries: negative count %d", n)
		}
		c.retries = n
		return nil
	}
}

// New returns a Client configured from the environment and then from opts.
func New(opts ...Option) (*Client, error) {
	c := &Client{
		apiKey:        strings.TrimSpace(os.Getenv(EnvAPIKey)),
		orgAPIKey:     strings.TrimSpace(os.Getenv(EnvOrgAPIKey)),
		apiKeyFrom:    EnvAPIKey,
		orgAPIKeyFrom: EnvOrgAPIKey,
		hc: &http.Client{
			Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		userAgent:     defaultUserAgent,
		retries:       DefaultRetries,
		minBackoff:    100 * time.Millisecond,
		maxBackoff:    2 * time.Second,
		maxRetryAfter: 30 * time.Second,
		sleep:         sleepCtx,
	}
	raw := os.Getenv(EnvURL)
	if raw == "" {
		raw = DefaultURL
	}
	u, err := parseBaseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("%w (from %s)", err, EnvURL)
	}
	c.baseURL = u
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// BaseURL returns the server address the client calls.
func (c *Client) BaseURL() string { return c.baseURL.String() }

// HasAPIKey reports whether the client holds a project key.
func (c *Client) HasAPIKey() bool { return c.apiKey != "" }

// HasOrgAPIKey reports whether the client holds an org key.
func (c *Client) HasOrgAPIKey() bool { return c.orgAPIKey != "" }

// parseBaseURL accepts an http or https URL with a host and an optional
// path prefix (for a server mounted below a path).
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("keyward: invalid base URL %q: want http(s)://host[:port]", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("keyward: invalid base URL %q: no user info, query or fragment allowed", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}
