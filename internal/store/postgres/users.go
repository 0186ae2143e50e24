package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

const userColumns = `id, email, name, password_hash, created_at`

const emailTaken = "A user with this email already exists"

// emailKey is the form in which emails are compared: two emails that differ
// only in case belong to the same user. It is Go's lowering, not the
// database's, so both stores fold case alike.
func emailKey(email string) string { return strings.ToLower(email) }

// CreateUser inserts u. A user whose email differs from an existing one only
// in case is a CONFLICT.
func (q queries) CreateUser(ctx context.Context, u *keyward.User) error {
	return q.insert(ctx, emailTaken, fmt.Sprintf("createUser(%q)", u.ID), `INSERT INTO users
		(id, email, email_key, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		u.ID, u.Email, emailKey(u.Email), u.Name, u.PasswordHash, u.CreatedAt)
}

// GetUser returns the user with the given id.
func (q queries) GetUser(ctx context.Context, id string) (*keyward.User, error) {
	row := q.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
	u, err := scanUser(row)
	if err != nil {
		return nil, notFound(err, "user", "postgres: getUser(%q)", id)
	}
	return u, nil
}

// GetUserByEmail returns the user with the given email, ignoring case.
func (q queries) GetUserByEmail(ctx context.Context, email string) (*keyward.User, error) {
	row := q.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email_key = $1`, emailKey(email))
	u, err := scanUser(row)
	if err != nil {
		return nil, notFound(err, "user", "postgres: getUserByEmail")
	}
	return u, nil
}

// UpdateUser writes u's email, name and password hash.
func (q queries) UpdateUser(ctx context.Context, u *keyward.User) error {
	tag, err := q.db.Exec(ctx, `UPDATE users
		SET email = $1, email_key = $2, name = $3, password_hash = $4 WHERE id = $5`,
		u.Email, emailKey(u.Email), u.Name, u.PasswordHash, u.ID)
	if err != nil {
		return conflict(err, emailTaken, "postgres: updateUser(%q)", u.ID)
	}
	return mustAffect(tag, "user")
}

func scanUser(s scanner) (*keyward.User, error) {
	var u keyward.User
	var created time.Time
	if err := s.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = utc(created)
	return &u, nil
}
