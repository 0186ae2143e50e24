package httpapi

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// Leak reports (docs/leaks.md): a secret-scanning service that found
// tokens in public posts them here, as a JSON array of {token, type, url,
// source}, signed with an ECDSA P-256 key of its own: the signature of the
// raw body (SHA-256, ASN.1, base64) in Github-Public-Key-Signature and the
// signing key's identifier in Github-Public-Key-Identifier, GitHub's
// secret-scanning partner format. The operator configures the public keys
// to accept (keyward serve --leak-report-keys); without them the route
// answers 404.

// Request headers of a leak report.
const (
	HeaderLeakKeyID     = "Github-Public-Key-Identifier"
	HeaderLeakSignature = "Github-Public-Key-Signature"
)

// maxLeakReportBody bounds a report's body.
const maxLeakReportBody = 1 << 20

// LeakReportKeys are the public keys whose signatures a leak report may
// carry, by identifier.
type LeakReportKeys map[string]*ecdsa.PublicKey

// ParseLeakReportKeys reads public keys in the form secret-scanning
// services publish them: {"public_keys": [{"key_identifier": "…", "key":
// "-----BEGIN PUBLIC KEY-----…"}]}. Every key must be an ECDSA key.
func ParseLeakReportKeys(b []byte) (LeakReportKeys, error) {
	var doc struct {
		PublicKeys []struct {
			KeyIdentifier string `json:"key_identifier"`
			Key           string `json:"key"`
		} `json:"public_keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("leak report keys: %w", err)
	}
	if len(doc.PublicKeys) == 0 {
		return nil, errors.New(`leak report keys: no "public_keys"`)
	}
	keys := LeakReportKeys{}
	for i, k := range doc.PublicKeys {
		block, _ := pem.Decode([]byte(k.Key))
		if block == nil || k.KeyIdentifier == "" {
			return nil, fmt.Errorf("leak report keys: public_keys[%d]: want a key_identifier and a PEM public key", i)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("leak report keys: public_keys[%d]: %w", i, err)
		}
		ec, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("leak report keys: public_keys[%d]: not an ECDSA key", i)
		}
		keys[k.KeyIdentifier] = ec
	}
	return keys, nil
}

// verify checks a report's signature against the key it names.
func (ks LeakReportKeys) verify(h http.Header, body []byte) bool {
	pub := ks[strings.TrimSpace(h.Get(HeaderLeakKeyID))]
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h.Get(HeaderLeakSignature)))
	if pub == nil || err != nil || len(sig) == 0 {
		return false
	}
	sum := sha256.Sum256(body)
	return ecdsa.VerifyASN1(pub, sum[:], sig)
}

// leakRoutes is the leak report route. Without keys to check reports with
// it answers 404, as a route that does not exist.
func (a *API) leakRoutes() []route {
	return []route{{
		Method: "POST", Path: "/v1/leak-reports", ID: "reportLeaks", Tag: tagLeaks, Errors: []int{401, 404},
		Summary: "Report keyward keys found in public, signed by a secret-scanning service whose key the operator configured: each live key is revoked or flagged by its org's leak_policy; the answer is the same whichever tokens are keys",
		Headers: []string{HeaderLeakKeyID, HeaderLeakSignature},
		In:      []service.LeakReport{}, Out: []struct{}{}, Status: 200,
		Handle: a.reportLeaks,
	}}
}

var errLeakSignature = keyward.Errorf(keyward.CodeUnauthenticated, "The report's signature does not verify with a configured secret-scanning key")

// reportLeaks checks the signature over the raw body before reading it,
// then acts on the report. The answer is an empty array whatever the
// tokens were: no feedback on which exist.
func (a *API) reportLeaks(c *call) (any, error) {
	if len(a.leakKeys) == 0 {
		return nil, keyward.Errorf(keyward.CodeNotFound, "Leak reports are not enabled on this server (keyward serve --leak-report-keys)")
	}
	if ct := c.r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return nil, keyward.Errorf(keyward.CodeUnsupportedMediaType, "Send the report as application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, maxLeakReportBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, keyward.Errorf(keyward.CodePayloadTooLarge, "A report is at most 1 MiB")
		}
		return nil, keyward.Invalid(keyward.FieldError{Field: "body", Problem: "could not be read"})
	}
	if !a.leakKeys.verify(c.r.Header, body) {
		return nil, errLeakSignature
	}
	var reports []service.LeakReport
	if err := json.Unmarshal(body, &reports); err != nil {
		return nil, keyward.Invalid(keyward.FieldError{Field: "body", Problem: "must be a JSON array of {token, type, url, source}"})
	}
	if _, err := a.svc.ReportLeaks(c.r.Context(), service.Origin{IP: ClientAddr(c.w, c.r).String(), UserAgent: truncate(c.r.Header.Get("User-Agent"), 300), RequestID: requestID(c.w)}, reports); err != nil {
		return nil, err
	}
	return []struct{}{}, nil
}
