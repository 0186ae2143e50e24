package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SecretPrefix starts every signing secret keyward makes.
const SecretPrefix = "whsec_"

// secretBytes is the size of the key NewSecret draws.
const secretBytes = 32

// ErrSecret is returned by NewSigner and NewVerifier for a signing secret
// that is empty or not base64. Its message never holds the secret.
var ErrSecret = errors.New(`webhooks: invalid signing secret: want "whsec_" followed by standard base64`)

// NewSecret returns a new signing secret: "whsec_" followed by the standard
// base64 (with padding) of 32 bytes from crypto/rand.
func NewSecret() (string, error) {
	var key [secretBytes]byte
	if _, err := rand.Read(key[:]); err != nil {
		return "", fmt.Errorf("webhooks: new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key[:]), nil
}

// decodeSecret returns the HMAC key of a signing secret: the standard
// base64 after "whsec_", or the whole secret (surrounding spaces trimmed)
// when it has no prefix, as Standard Webhooks libraries accept.
func decodeSecret(secret string) ([]byte, error) {
	s := strings.TrimPrefix(strings.TrimSpace(secret), SecretPrefix)
	// The decoder skips line breaks; a secret holds none.
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return nil, ErrSecret
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, ErrSecret // err would quote the secret's bytes
	}
	return key, nil
}
