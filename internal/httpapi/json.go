package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/keyward/keyward"
)

// MaxBodyBytes caps request bodies (SPEC §4: 413 above 1 MiB).
const MaxBodyBytes = 1 << 20

// decode reads a JSON request body into dst strictly: JSON content type,
// at most 1 MiB, valid UTF-8, no unknown fields, no trailing data. An empty
// body leaves dst as it is (for endpoints whose body is optional).
func decode(r *http.Request, dst any, optional bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return keyward.Errorf(keyward.CodePayloadTooLarge, "The request body is larger than 1 MiB")
	}
	if err != nil {
		return keyward.Errorf(keyward.CodeInvalidRequest, "The request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return keyward.Errorf(keyward.CodeInvalidRequest, "A JSON request body is required")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return keyward.Errorf(keyward.CodeUnsupportedMediaType, "Send the request body as JSON with Content-Type: application/json")
	}
	if !utf8.Valid(body) {
		return keyward.Errorf(keyward.CodeInvalidRequest, "The request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() || dec.InputOffset() < int64(len(bytes.TrimRight(body, " \t\r\n"))) {
		return keyward.Errorf(keyward.CodeInvalidRequest, "The request body has data after the JSON value")
	}
	return nil
}

// jsonError turns a decoding error into INVALID_REQUEST naming the field.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return keyward.Invalid(keyward.FieldError{Field: field, Problem: "must be " + jsonKind(typeErr.Type.Kind().String())})
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return keyward.Errorf(keyward.CodeInvalidRequest, "The request body is not valid JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if len(field) > 60 || !utf8.ValidString(field) {
			field = "(unnamed)"
		}
		return keyward.Invalid(keyward.FieldError{Field: field, Problem: "is not a known field"})
	}
	// Errors from the types' own UnmarshalJSON (durations, times).
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120]
	}
	return keyward.Invalid(keyward.FieldError{Field: "body", Problem: strings.ToValidUTF8(msg, "")})
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "of another type"
}

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}
