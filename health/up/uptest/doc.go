// Package uptest holds the tests of github.com/slipwayhq/slipway/health/up
// that need more than the standard library: a real SQLite driver
// (modernc.org/sqlite), testify and goleak. They live in a module of their
// own so that health/up's go.mod stays free of requirements: an app that
// imports health/up must not inherit its tests' dependencies. Run them
// with `go test ./...` in this directory (the project's `mage test` does).
package uptest
