package dashboard

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"

	"github.com/keyward/keyward"
)

// A one-time value (a new key's secret, a reset or invitation link) is
// made by a POST and shown by the GET the browser is redirected to
// (post/redirect/get), so that reloading the page or going Back never
// makes another key nor shows the secret again. The value waits in the
// store (service.KeepOnce), so that any node may answer the GET, under an
// id that the redirect's URL carries (?once=…), bound to the session that
// made it; the first GET with that id and session takes it, a reload
// finds nothing.
//
// The stored value is sealed (AES-256-GCM) with a key derived from the
// session's token, which only the browser holds (the store keeps the
// token's digest): a stored row alone reveals nothing. Nothing secret goes
// into the URL or a cookie.
const onceArg = "once"

// onceValue is what a one-time value may be: one of its fields is set.
type onceValue struct {
	Setup  *setupDone   `json:"setup,omitempty"`
	Secret *newSecret   `json:"secret,omitempty"`
	Links  *memberLinks `json:"links,omitempty"`
	// Webhook is an endpoint's new signing secret.
	Webhook *webhookSecret `json:"webhook,omitempty"`
}

func wrapOnce(v any) (onceValue, error) {
	switch v := v.(type) {
	case *setupDone:
		return onceValue{Setup: v}, nil
	case *newSecret:
		return onceValue{Secret: v}, nil
	case *memberLinks:
		return onceValue{Links: v}, nil
	case *webhookSecret:
		return onceValue{Webhook: v}, nil
	}
	return onceValue{}, errors.New("dashboard: not a one-time value")
}

func (o onceValue) unwrap() any {
	switch {
	case o.Setup != nil:
		return o.Setup
	case o.Secret != nil:
		return o.Secret
	case o.Links != nil:
		return o.Links
	case o.Webhook != nil:
		return o.Webhook
	}
	return nil
}

// onceAEAD is the cipher that seals one-time value id for the session
// whose token is token.
func onceAEAD(token, id string) (cipher.AEAD, error) {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("keyward one-time value\x00" + id))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// putOnce keeps value for the session's next page and returns its id.
func (d *dashboard) putOnce(ctx context.Context, sessionID, token string, value any) (string, error) {
	w, err := wrapOnce(value)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(w)
	if err != nil {
		return "", err
	}
	return d.svc.KeepOnce(ctx, sessionID, func(id string) ([]byte, error) {
		aead, err := onceAEAD(token, id)
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, aead.NonceSize())
		rand.Read(nonce)
		return aead.Seal(nonce, nonce, plain, []byte(sessionID)), nil
	})
}

// takeOnceValue returns and forgets the session's value id, or nil when
// there is none (taken, expired, another session's, or unreadable).
func (d *dashboard) takeOnceValue(ctx context.Context, sessionID, token, id string) (any, error) {
	sealed, err := d.svc.TakeOnce(ctx, sessionID, id)
	if keyward.ErrorCode(err) == keyward.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	aead, err := onceAEAD(token, id)
	if err != nil || len(sealed) < aead.NonceSize() {
		return nil, err
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(sessionID))
	if err != nil {
		return nil, nil //nolint:nilerr // sealed for another token: nothing to show
	}
	var w onceValue
	if err := json.Unmarshal(plain, &w); err != nil {
		return nil, nil //nolint:nilerr // not a value this version wrote: nothing to show
	}
	return w.unwrap(), nil
}
