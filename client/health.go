package client

import (
	"context"
	"net/http"
)

// Health checks that the server process is up (GET /healthz). It sends no
// key.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, call{method: http.MethodGet, path: "/healthz", idempotent: true}, nil)
}

// Ready checks that the server can reach its store (GET /readyz); a server
// that cannot answers an *Error with status 503.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, call{method: http.MethodGet, path: "/readyz", idempotent: true}, nil)
}
