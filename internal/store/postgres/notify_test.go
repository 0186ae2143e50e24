package postgres

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward"
)

// listen opens a connection of its own to s's database that LISTENs on the
// key change channel.
func listen(t *testing.T, s *Store) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), s.pool.Config().ConnConfig.ConnString())
	if err != nil {
		t.Fatalf("connect the listener: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(t.Context(), "LISTEN "+keyward.KeyChangesChannel); err != nil {
		t.Fatalf("LISTEN: %v", err)
	}
	return conn
}

// nextNotification returns the next notification on conn, failing the test
// if none comes within 10 s.
func nextNotification(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	n, err := conn.WaitForNotification(ctx)
	if err != nil {
		t.Fatalf("WaitForNotification: %v", err)
	}
	if n.Channel != keyward.KeyChangesChannel {
		t.Fatalf("notification on channel %q, want %q", n.Channel, keyward.KeyChangesChannel)
	}
	return n.Payload
}

// latestSeq returns LatestKeyChange as a notification payload.
func latestSeq(t *testing.T, s *Store) string {
	t.Helper()
	seq, err := s.LatestKeyChange(t.Context())
	if err != nil {
		t.Fatalf("LatestKeyChange: %v", err)
	}
	return strconv.FormatInt(seq, 10)
}

// TestKeyChangesNotify checks that a committed key write is announced on
// keyward_key_changes with its change number, and a rolled-back one never
// is.
func TestKeyChangesNotify(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ctx := t.Context()
	now := keyward.SystemClock{}.Now()
	o := &keyward.Org{ID: keyward.NewID(keyward.PrefixOrg), Name: "o", Slug: "o",
		Settings: keyward.DefaultSettings(), CreatedAt: now}
	if err := s.CreateOrg(ctx, o); err != nil {
		t.Fatal(err)
	}
	p := &keyward.Project{ID: keyward.NewID(keyward.PrefixProject), OrgID: o.ID, Name: "p", Slug: "p",
		CreatedAt: now, UpdatedAt: now}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	newKey := func() *keyward.Key {
		return &keyward.Key{ID: keyward.NewID(keyward.PrefixKey), Kind: keyward.KindProject, Name: "k",
			Hint: "kwp_…abcd", ProjectID: p.ID, OrgID: o.ID, CreatedAt: now,
			CreatedBy: keyward.ActorRef{Type: keyward.ActorSystem}, Digest: []byte(keyward.NewID("d"))}
	}
	k := newKey()
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	conn := listen(t, s) // after the setup: its writes were announced before LISTEN

	// A committed UpdateKey is announced with its change number.
	k.Name = "committed"
	if err := s.UpdateKey(ctx, k); err != nil {
		t.Fatalf("UpdateKey: %v", err)
	}
	if got, want := nextNotification(t, conn), latestSeq(t, s); got != want {
		t.Errorf("notification after UpdateKey = %q, want change number %s", got, want)
	}

	// So is one committed by InTx.
	err := s.InTx(ctx, func(q keyward.Queries) error {
		k.Name = "in a transaction"
		return q.UpdateKey(ctx, k)
	})
	if err != nil {
		t.Fatalf("InTx(UpdateKey): %v", err)
	}
	if got, want := nextNotification(t, conn), latestSeq(t, s); got != want {
		t.Errorf("notification after InTx(UpdateKey) = %q, want change number %s", got, want)
	}

	// A rolled-back UpdateKey is not: the first notification that follows
	// belongs to the change committed after it.
	boom := errors.New("boom")
	var rolledBack string
	err = s.InTx(ctx, func(q keyward.Queries) error {
		k.Name = "rolled back"
		if err := q.UpdateKey(ctx, k); err != nil {
			return err
		}
		seq, err := q.LatestKeyChange(ctx)
		if err != nil {
			return err
		}
		rolledBack = strconv.FormatInt(seq, 10)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want fn's error", err)
	}
	k.Name = "after the rollback"
	if err := s.UpdateKey(ctx, k); err != nil {
		t.Fatalf("UpdateKey: %v", err)
	}
	got, want := nextNotification(t, conn), latestSeq(t, s)
	if got == rolledBack {
		t.Errorf("the rolled-back change %s was announced", rolledBack)
	}
	if got != want {
		t.Errorf("first notification after a rollback = %q, want the next commit's change number %s", got, want)
	}

	// DeleteProject announces its keys' changes once, with the last number.
	if err := s.CreateKey(ctx, newKey()); err != nil {
		t.Fatal(err)
	}
	if got, want := nextNotification(t, conn), latestSeq(t, s); got != want {
		t.Errorf("notification after CreateKey = %q, want change number %s", got, want)
	}
	if err := s.DeleteProject(ctx, p.ID); err != nil {
		t.Fatalf("DeleteProject: %v", err)
	}
	if got, want := nextNotification(t, conn), latestSeq(t, s); got != want {
		t.Errorf("notification after DeleteProject = %q, want change number %s", got, want)
	}
}
