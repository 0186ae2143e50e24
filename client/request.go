package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// credential says which key a call sends.
type credential int

const (
	credNone    credential = iota // service endpoints
	credProject                   // x-api-key
	credOrg                       // x-org-api-key
)

// maxResponseBytes caps what is read of a response body.
const maxResponseBytes = 16 << 20

// call is one API call.
type call struct {
	method string
	path   string // escaped path below the base URL, e.g. "/v1/keys/key_…"
	query  url.Values
	body   any // JSON-encoded when non-nil
	cred   credential
	// idempotent calls may be retried: GET, DELETE and revoke.
	idempotent bool
	// header, when set, receives the headers of a successful answer.
	header *http.Header
	// reqHeader holds extra request headers.
	reqHeader http.Header
}

// do runs a call, retrying it when it is idempotent, and decodes a 2xx
// body into out (unless out is nil or the status is 204).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	header, key, err := c.credential(cl.cred)
	if err != nil {
		return err
	}
	var payload []byte
	if cl.body != nil {
		var err error
		if payload, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("keyward: %s %s: encode body: %w", cl.method, cl.path, err)
		}
	}
	target := c.baseURL.String() + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}

	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, cl.method, target, bytes.NewReader(payload))
		if err != nil {
			return fmt.Errorf("keyward: %s %s: %w", cl.method, cl.path, err)
		}
		if payload == nil {
			req.Body, req.ContentLength = http.NoBody, 0
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", c.userAgent)
		if key != "" {
			req.Header.Set(header, key)
		}
		for name, vals := range cl.reqHeader {
			req.Header[name] = vals
		}

		err = c.once(req, out, cl.header)
		if err == nil {
			return nil
		}
		wait, retry := c.retryAfter(cl, attempt, err)
		if !retry {
			return err
		}
		if !c.sleep(ctx.Done(), wait) {
			return fmt.Errorf("keyward: %s %s: %w (giving up after: %w)", cl.method, cl.path, ctx.Err(), err)
		}
	}
}

// credential returns the header and key a call with cred sends ("" for
// none), or an error if the client lacks that key.
func (c *Client) credential(cred credential) (header, key string, err error) {
	switch cred {
	case credProject:
		if c.apiKey == "" {
			return "", "", ErrNoAPIKey
		}
		return "X-Api-Key", c.apiKey, nil
	case credOrg:
		if c.orgAPIKey == "" {
			return "", "", ErrNoOrgAPIKey
		}
		return "X-Org-Api-Key", c.orgAPIKey, nil
	}
	return "", "", nil
}

// once sends one request and decodes its answer; header, when set,
// receives the answer's headers.
func (c *Client) once(req *http.Request, out any, header *http.Header) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error names the URL, never the headers, so no key leaks.
		return fmt.Errorf("keyward: %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("keyward: %s %s: read response: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp, body)
	}
	if header != nil {
		*header = resp.Header
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("keyward: %s %s: decode response: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// retryAfter says whether a failed attempt is retried and after how long.
func (c *Client) retryAfter(cl call, attempt int, err error) (wait time.Duration, retry bool) {
	if !cl.idempotent || attempt >= c.retries {
		return 0, false
	}
	var e *Error
	if !errors.As(err, &e) {
		return c.backoff(attempt), true // network error
	}
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if e.RetryAfter > 0 {
			if e.RetryAfter > c.maxRetryAfter {
				return 0, false
			}
			return e.RetryAfter, true
		}
		return c.backoff(attempt), true
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return c.backoff(attempt), true
	}
	return 0, false
}
