// Package up is the /up endpoint an app serves so that a deploy knows when
// its new release may take traffic: a Handler running named readiness
// Checks (SQLite, Writable, Replication, Func) concurrently, each within its
// own short timeout, with results reused for a second; 200 "ok" when all
// pass, 503 naming the failed ones otherwise. It calls nothing outside the
// app unless a Check does.
//
// This is the app's side of Slipway. The operator's side (the gates that
// poll /up during a deploy, Wait, Diagnose) is package
// github.com/slipwayhq/slipway/health, which the deployment code imports and
// the app never does.
//
// # A module with no requirements
//
// up is a Go module of its own, github.com/slipwayhq/slipway/health/up, and
// it imports the standard library only: its go.mod requires nothing. An app
// that serves /up with it adds exactly this one small module to its go.mod,
// links nothing of the deploy SDK (no Docker, SSH or S3 client), and keeps
// the versions of everything else it uses — its SQLite driver among them.
// Releases are tagged health/up/vX.Y.Z, so an app gets it with
//
//	go get github.com/slipwayhq/slipway/health/up@latest
//
// The checks reach the app's own dependencies through interfaces of the
// standard library: SQLite opens the database through database/sql with
// whichever SQLite driver the app registered, and Replication reads a
// Replicator, which *replicate.Replication satisfies without this package
// importing it.
//
// # Example
//
// In the app, serve /up from the database file and the data directory:
//
//	import (
//		_ "modernc.org/sqlite"
//
//		"github.com/slipwayhq/slipway/health/up"
//	)
//
//	health := up.NewHandler(up.SQLite("/data/app.db"), up.Writable("/data"))
//	defer health.Close()
//	mux.Handle("GET /up", health)
//
// An app that replicates in-process adds up.Replication(rep, 0), rep being
// its *replicate.Replication: /up then fails while the replica trails or
// replication has stopped.
package up
