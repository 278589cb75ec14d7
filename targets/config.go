package targets

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/replicate"
)

// Config is everything the ready targets need to know about an app: what
// to deploy, how the sessions run, and what the drills check. Every zero
// field means its documented default, so Config{App: App} is a complete
// configuration for an app without drills.
type Config struct {
	// App is the app the targets deploy, in its base form; each target
	// picks its -destination with App.ForDestination. Its Databases are
	// the ones the replica targets (replica:verify, replica:drill,
	// replica:restore), app:recover, app:drill and runbook work on: a
	// database is declared once, in the App, and read there. Those
	// targets reach each replica from this machine through its
	// S3.OperatorEndpoint when set, and on a host (replica:drill -host)
	// through the hosts' S3.Endpoint. Required.
	App deploy.App
	// Options are the session options every target connects with
	// (output, performer, lock wait, timeouts); the zero Options are
	// deploy's defaults. A target may change one for itself, as
	// lock:acquire sets Message from its -message flag.
	Options deploy.Options
	// Drills is what replica:drill and app:drill check beyond their
	// built-in checks, and where they record it; the zero Drills runs
	// only the built-in checks and records in DefaultDrillLog.
	Drills Drills
}

// Drills configures the restore drills of the replica:drill and app:drill
// targets.
type Drills struct {
	// Log is the drill log every drill appends its report to, relative
	// to the directory Mage runs in; "" means DefaultDrillLog.
	Log string
	// Queries are the critical reads every database drill runs on the
	// restored database (replica:drill); each must return a row count
	// within its bounds. Nil runs only PRAGMA integrity_check.
	Queries []replicate.Query
	// Smoke are the requests a whole-app drill (app:drill) sends the
	// restored copy after its health check passes. Nil checks health only.
	Smoke []deploy.SmokeCheck
	// DropEnv are env names the whole-app drill's disposable copy must not
	// get, beyond the replica's credentials and replication env, which it
	// never gets: say, the name of an env that makes the app send mail.
	DropEnv []string
}

// Validate reports every problem of c at once as a
// *deploy.ValidationError, each naming its field ("drills.queries[0].sql").
// The App is only checked for being set: deploy validates it fully for
// the destination a target is given, since a base App may be completed by
// its destination overlays.
func (c Config) Validate() error {
	var problems []deploy.Problem
	add := func(field, format string, args ...any) {
		problems = append(problems, deploy.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if c.App.Service == "" && len(c.App.Roles) == 0 {
		add("app", "not set: pass the app to deploy, targets.Use(targets.Config{App: App})")
	}
	for i, q := range c.Drills.Queries {
		field := fmt.Sprintf("drills.queries[%d]", i)
		if strings.TrimSpace(q.Name) == "" {
			add(field+".name", "must not be empty: it labels the query in the drill log")
		}
		if strings.TrimSpace(q.SQL) == "" {
			add(field+".sql", "must not be empty: give a read-only statement such as SELECT id FROM orders LIMIT 1")
		}
		if q.MinRows < 0 {
			add(field+".minRows", "must not be negative, got %d", q.MinRows)
		}
		if q.MaxRows < 0 {
			add(field+".maxRows", "must not be negative (0 means no upper bound), got %d", q.MaxRows)
		}
		if q.MaxRows > 0 && q.MaxRows < q.MinRows {
			add(field+".maxRows", "is %d, below minRows %d: no row count could pass", q.MaxRows, q.MinRows)
		}
	}
	for i, s := range c.Drills.Smoke {
		field := fmt.Sprintf("drills.smoke[%d]", i)
		if !strings.HasPrefix(s.Path, "/") {
			add(field+".path", "must start with /, got %q", s.Path)
		}
		if s.Status != 0 && (s.Status < 100 || s.Status > 599) {
			add(field+".status", "must be an HTTP status (100-599) or 0 for 200, got %d", s.Status)
		}
	}
	for i, name := range c.Drills.DropEnv {
		if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "= \t\n") {
			add(fmt.Sprintf("drills.dropEnv[%d]", i), "must be an env name, got %q", name)
		}
	}
	if len(problems) > 0 {
		return &deploy.ValidationError{Problems: problems}
	}
	return nil
}

// current is the Config in use: the package's only state. Mage's targets
// are package-level functions whose parameters are their command-line
// flags, so what the magefile's init() hands over has nowhere else to
// live. The sessions the targets open ride along, for exit to redact
// their secrets from the message Mage prints.
var current struct {
	mu     sync.Mutex
	cfg    Config
	err    error // cfg.Validate()'s verdict, returned by every target
	set    bool
	opened []*deploy.Session
}

// Use configures the ready targets: call it from the magefile's init(),
// as `func init() { targets.Use(targets.Config{App: App}) }`. A later
// call replaces the whole Config. Use checks cfg at once (Config.Validate)
// but cannot fail the init(): every target then exits with ExitInvalid and
// the problems, before it connects to anything.
func Use(cfg Config) {
	err := cfg.Validate()
	current.mu.Lock()
	defer current.mu.Unlock()
	current.cfg, current.err, current.set = cfg, err, true
}

// config returns the Config in use, or why there is none to use.
func config() (Config, error) {
	current.mu.Lock()
	defer current.mu.Unlock()
	if !current.set {
		return Config{}, errors.New("no app configured: call targets.Use(targets.Config{App: App}) from your magefile's init()")
	}
	return current.cfg, current.err
}
