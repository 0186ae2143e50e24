package sqlite

import (
	"context"
	"strings"

	"github.com/keyward/keyward"
)

const userColumns = `id, email, name, password_hash, created_at`

// emailKey is the form in which emails are compared: two emails that differ
// only in case belong to the same user.
func emailKey(email string) string { return strings.ToLower(email) }

// CreateUser inserts u. A user whose email differs from an existing one only
// in case is a CONFLICT.
func (q queries) CreateUser(ctx context.Context, u *keyward.User) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO users
		(id, email, email_key, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, emailKey(u.Email), u.Name, u.PasswordHash, micros(u.CreatedAt))
	if err != nil {
		return conflict(err, "A user with this email already exists", "sqlite: createUser(%q)", u.ID)
	}
	return nil
}

// GetUser returns the user with the given id.
func (q queries) GetUser(ctx context.Context, id string) (*keyward.User, error) {
	row := q.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id)
	u, err := scanUser(row)
	if err != nil {
		return nil, notFound(err, "user", "sqlite: getUser(%q)", id)
	}
	return u, nil
}

// GetUserByEmail returns the user with the given email, ignoring case.
func (q queries) GetUserByEmail(ctx context.Context, email string) (*keyward.User, error) {
	row := q.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email_key = ?`, emailKey(email))
	u, err := scanUser(row)
	if err != nil {
		return nil, notFound(err, "user", "sqlite: getUserByEmail")
	}
	return u, nil
}

// UpdateUser writes u's email, name and password hash.
func (q queries) UpdateUser(ctx context.Context, u *keyward.User) error {
	res, err := q.w.ExecContext(ctx, `UPDATE users
		SET email = ?, email_key = ?, name = ?, password_hash = ? WHERE id = ?`,
		u.Email, emailKey(u.Email), u.Name, u.PasswordHash, u.ID)
	if err != nil {
		return conflict(err, "A user with this email already exists", "sqlite: updateUser(%q)", u.ID)
	}
	return mustAffect(res, "user")
}

func scanUser(s scanner) (*keyward.User, error) {
	var u keyward.User
	var created int64
	if err := s.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}
