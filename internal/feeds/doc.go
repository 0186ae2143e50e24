// Package feeds holds the invalidation feeds of nodes that share a
// PostgreSQL store: PostgreSQL LISTEN/NOTIFY and Redis pub/sub. Each wakes
// a verify.Watcher when another node commits key changes, and proves it is
// alive with heartbeats. They live apart from package verify so that what
// links verify's cache (the SDK) does not link the database drivers.
package feeds
