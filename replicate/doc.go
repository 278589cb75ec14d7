// Package replicate keeps SQLite databases safe: replicas as values
// (a database path and an S3 or file target), Litestream configuration
// and sidecars, restore on boot, freshness checks and timed restore
// drills that record RTO and RPO.
//
// It is a placeholder until the replicate issue lands.
package replicate
