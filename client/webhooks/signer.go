package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"
)

// Signer signs deliveries with one signing secret. It is safe for
// concurrent use. Printing it does not print the secret.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer for secret ("whsec_" and base64, or the
// base64 alone; white space around it is ignored). It returns ErrSecret
// for an empty or undecodable secret.
func NewSigner(secret string) (*Signer, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return nil, err
	}
	return &Signer{key: key}, nil
}

// Sign returns the webhook-signature header value for a delivery of body
// with message id at time t (sent as t's Unix seconds in
// webhook-timestamp): "v1," and the standard base64 of
// HMAC-SHA256(key, id + "." + seconds + "." + body).
func (s *Signer) Sign(id string, t time.Time, body []byte) string {
	var sum [sha256.Size]byte
	mac := signature(sum[:0], s.key, id, t.Unix(), body)
	out := make([]byte, 3+base64.StdEncoding.EncodedLen(len(mac)))
	copy(out, "v1,")
	base64.StdEncoding.Encode(out[3:], mac)
	return string(out)
}

// String describes the Signer without its secret.
func (Signer) String() string { return "webhooks.Signer" }

// GoString describes the Signer without its secret (%#v).
func (Signer) GoString() string { return "webhooks.Signer{}" }

// signature appends HMAC-SHA256(key, id + "." + ts + "." + body) to dst.
func signature(dst, key []byte, id string, ts int64, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	var buf [64]byte
	prefix := append(buf[:0], id...)
	prefix = append(prefix, '.')
	prefix = strconv.AppendInt(prefix, ts, 10)
	prefix = append(prefix, '.')
	mac.Write(prefix)
	mac.Write(body)
	return mac.Sum(dst)
}
