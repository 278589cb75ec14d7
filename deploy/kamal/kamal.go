package kamal

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/secret"
)

// Load reads a Kamal config into a deploy.App, for a team moving from
// Kamal. path is the project directory or its config/deploy.yml (any
// YAML file works; its destination overlay sits beside it). With a
// destination, config/deploy.<destination>.yml is deep-merged over the
// base as Kamal does (maps merge key by key, anything else is replaced)
// and App.Destination is set. Without one, the base alone is read; to
// read the base with every destination, use LoadAll.
//
// App.Secrets reads .kamal/secrets-common then .kamal/secrets (or
// .kamal/secrets.<destination>), then the environment; see Secrets.
// A relative path is taken from the working directory when Load is
// called, like any file name, and App.Secrets keeps its files as
// absolute paths, so that it reads the same files wherever it is used
// later; the Report names them as they were given.
// Import reads only the names in those files: no value is kept and no
// "$(command)" is run. Kamal's aliased secrets (NAME:ALIAS) give the
// container NAME with the value of the secret ALIAS.
//
// Behaviour follows Kamal where Slipway's defaults differ: kamal-proxy
// buffers requests and responses unless buffering says otherwise, the
// primary role is behind the proxy unless it says proxy: false, and
// without a builder key (or with only builder.arch) the App builds the
// project's Dockerfile. Names Slipway cannot take as they are
// ("my_app") become lower-case with dashes ("my-app"), with a note.
//
// ERB is rendered before the YAML is read, as Kamal does: the ENV idioms
// configs use (ENV["X"], ENV.fetch("X"), ENV.fetch("X", "default"),
// ENV.fetch("X") { "default" }, ENV["X"] || "default") are evaluated
// from the environment (see Importer.LookupEnv), and the report lists
// the names read. Nothing else is run: a statement (<% %>) is dropped,
// keeping a conditional's first branch, and other output (<%= %>) is
// left out with its key reported by file and line, so that ERB never
// stops an import.
//
// The report lists every key not carried over, by its YAML path, with a
// reason. Keys starting with "x-" are ignored, as Kamal does; YAML
// anchors, aliases and "<<" merge keys are followed. Malformed YAML, a
// value of the wrong type anywhere (a known key is never dropped for its
// type), and a file over a limit (MaxFileSize, MaxNodes, MaxValues,
// MaxDepth) are a *Error naming the file and line; the limits bound the
// time and memory an import takes. When the App is not valid (an image
// Slipway cannot take, a host that is not a host name, ...) Load returns
// it and the report with deploy.App.Validate's *deploy.ValidationError,
// whose fields are the App's; when an environment variable the ERB reads
// is not set, that error is wrapped in an *EnvError that names it.
func Load(path, destination string) (deploy.App, *Report, error) {
	return Importer{}.Load(path, destination)
}

// LoadAll reads a Kamal project with every destination it has an
// overlay for (config/deploy.<destination>.yml beside the config):
// the App is the base, and App.Destinations holds one overlay per
// destination, which makes the App Load(path, destination) reads, so
// that App.ForDestination(name) is the App Kamal deploys with -d name.
//
// A base that is complete only with a destination (require_destination,
// or hosts and proxy hosts set only in the overlays) imports: each
// destination is validated as it deploys, by ForDestination and
// Validate, and their problems are returned at once, each field prefixed
// with "destinations.<name>."; the base is validated alone only when it
// has no destination. The report covers the base and every overlay,
// each key once.
func LoadAll(path string) (deploy.App, *Report, error) {
	return Importer{}.LoadAll(path)
}

// Importer reads Kamal configs with settings other than the defaults.
// Its zero value is what Load and LoadAll use.
type Importer struct {
	// LookupEnv gives the ERB's ENV its values; nil means os.LookupEnv.
	LookupEnv LookupEnv
}

func (im Importer) lookup() LookupEnv {
	if im.LookupEnv != nil {
		return im.LookupEnv
	}
	return osLookupEnv
}

// Load is the package's Load with the Importer's settings.
func (im Importer) Load(path, destination string) (deploy.App, *Report, error) {
	file, root, err := kamalConfigFile(path)
	if err != nil {
		return deploy.App{}, nil, err
	}
	app, report, err := im.load(file, root, destination, false)
	if err != nil {
		return deploy.App{}, nil, err
	}
	return app, report, report.envError(app.Validate())
}

// LoadAll is the package's LoadAll with the Importer's settings.
func (im Importer) LoadAll(path string) (deploy.App, *Report, error) {
	file, root, err := kamalConfigFile(path)
	if err != nil {
		return deploy.App{}, nil, err
	}
	dests := kamalDestinations(file)
	base, report, err := im.load(file, root, "", len(dests) > 0)
	if err != nil {
		return deploy.App{}, nil, err
	}
	if len(dests) == 0 {
		return base, report, report.envError(base.Validate())
	}
	report.Destinations = dests
	// What the destinations read from the environment or run is theirs:
	// the base alone is not what deploys.
	report.EnvSecrets, report.CommandSecrets = nil, nil
	base.Destinations = map[string]func(*deploy.App){}
	var problems []deploy.Problem
	var other error
	for _, d := range dests {
		app, r, err := im.load(file, root, d, false)
		if err != nil {
			return deploy.App{}, nil, err
		}
		report.merge(r)
		base.Destinations[d] = overlayWith(app)
	}
	if err := base.Validate(); err != nil {
		// Only the base's own checks that do not depend on its servers
		// are kept: those of the destination names and their replicas.
		if ve, ok := errors.AsType[*deploy.ValidationError](err); ok {
			for _, p := range ve.Problems {
				if strings.HasPrefix(p.Field, "destinations") {
					problems = append(problems, p)
				}
			}
		}
	}
	for _, d := range dests {
		app, err := base.ForDestination(d)
		if err == nil {
			err = app.Validate()
		}
		if ve, ok := errors.AsType[*deploy.ValidationError](err); ok {
			for _, p := range ve.Problems {
				p.Field = "destinations." + d + "." + p.Field
				problems = append(problems, p)
			}
		} else if err != nil && other == nil {
			other = fmt.Errorf("destination %s: %w", d, err)
		}
	}
	report.sortKeys()
	if other != nil {
		return base, report, other
	}
	if len(problems) > 0 {
		return base, report, report.envError(&deploy.ValidationError{Problems: problems})
	}
	return base, report, nil
}

// overlayWith is a destination overlay that makes the App the one the
// destination imports as, keeping the base's destinations.
func overlayWith(dest deploy.App) func(*deploy.App) {
	return func(a *deploy.App) {
		c := dest.Clone()
		c.Destinations = a.Destinations
		*a = c
	}
}

// load imports file (and the destination's overlay) into an App and a
// report, without validating it. withDestinations says the base is read
// for LoadAll: require_destination is then met.
func (im Importer) load(file, root, destination string, withDestinations bool) (deploy.App, *Report, error) {
	report := &Report{Files: []string{file}}
	lookup := im.lookup()
	erb := map[string][]erbExpr{}
	emptied := map[string][]int{}
	cfg, res, err := loadKamalFile(file, lookup)
	if err != nil {
		return deploy.App{}, nil, err
	}
	report.addERB(file, res)
	erb[file], emptied[file] = res.exprs, res.emptied
	if destination != "" {
		overlay := strings.TrimSuffix(file, filepath.Ext(file)) + "." + destination + filepath.Ext(file)
		over, res, err := loadKamalFile(overlay, lookup)
		if errors.Is(err, fs.ErrNotExist) {
			return deploy.App{}, nil, fmt.Errorf("destination %s: %s does not exist; known destinations: %s", destination, overlay, orNone(kamalDestinations(file)))
		}
		if err != nil {
			return deploy.App{}, nil, err
		}
		report.addERB(overlay, res)
		erb[overlay], emptied[overlay] = res.exprs, res.emptied
		cfg = mergeKamal(cfg, over)
		report.Files = append(report.Files, overlay)
	}
	k := &kamalImport{report: report, root: root, destination: destination, erb: erb, emptied: emptied, withDestinations: withDestinations}
	app, err := k.app(cfg, file)
	if err != nil {
		return deploy.App{}, nil, err
	}
	report.sortKeys()
	return app, report, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// kamalConfigFile finds the config file and the project root, where
// .kamal lives.
func kamalConfigFile(path string) (file, root string, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("read Kamal config: %w", err)
	}
	file = path
	if info.IsDir() {
		file = filepath.Join(path, "config", "deploy.yml")
		if _, err := os.Stat(file); err != nil {
			return "", "", fmt.Errorf("read Kamal config: %s has no config/deploy.yml: %w", path, err)
		}
	}
	root = filepath.Dir(file)
	if filepath.Base(root) == "config" {
		root = filepath.Dir(root)
	}
	return file, root, nil
}

// kamalDestinations lists the destinations that have an overlay beside file.
func kamalDestinations(file string) []string {
	ext := filepath.Ext(file)
	base := strings.TrimSuffix(filepath.Base(file), ext)
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(file), base+".*"+ext))
	var names []string
	for _, m := range matches {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), base+"."), ext)
		if name == "" || strings.Contains(name, ".") {
			continue
		}
		// deploy.X.yml with deploy.X.<dest>.yml beside it is a config
		// of its own (kamal -c config/deploy.X.yml), not a destination.
		if own, _ := filepath.Glob(filepath.Join(filepath.Dir(file), base+"."+name+".*"+ext)); len(own) > 0 {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// kamalImport turns a merged config into an App.
type kamalImport struct {
	report      *Report
	root        string
	destination string
	erb         map[string][]erbExpr // file -> the ERB output not evaluated, by marker number
	emptied     map[string][]int     // file -> lines where an unset variable left nothing
	// withDestinations says the base is read with its destinations
	// (LoadAll), which meet require_destination.
	withDestinations bool

	ssh      sshDefaults
	tags     map[string][]string   // host -> tags
	envTags  map[string]deploy.Env // tag -> env
	aliases  map[string]kamalAlias
	renamed  map[string]string // Kamal role name -> Slipway role name
	secrets  []string          // secret names the config uses
	proxied  bool
	hostTags []taggedHost
}

type kamalAlias struct {
	secret, path string
}

type taggedHost struct {
	role, host, path string
	tags             []string
	v                *kval
}

type sshDefaults struct {
	user     string
	port     int
	jump     *deploy.Server
	keyFiles []string
}

func (k *kamalImport) unsupported(v *kval, path, reason string) {
	key := Key{Path: path, Reason: reason}
	if v != nil {
		key.File, key.Line = v.file, v.line
	}
	k.report.Unsupported = append(k.report.Unsupported, key)
}

func (k *kamalImport) note(format string, args ...any) {
	k.report.Notes = append(k.report.Notes, fmt.Sprintf(format, args...))
}

func (k *kamalImport) typeErr(v *kval, path, want string) error {
	return &Error{File: v.file, Line: v.line, Path: path, Message: "must be " + want + ", got " + v.describe()}
}

// fields walks a map's keys in order, calling handle for each key but
// "x-" extensions; handle returns false for a key it does not know.
func (k *kamalImport) fields(v *kval, path string, handle func(key string, val *kval, p string) (bool, error)) error {
	if v.isNull() {
		return nil
	}
	if v.kind != yaml.MappingNode {
		return k.typeErr(v, path, "a map")
	}
	for i, key := range v.keys {
		if strings.HasPrefix(key, "x-") {
			continue
		}
		p := keyPath(path, key)
		val := v.vals[i]
		if reason, ok := k.erbText(v.file, key); ok {
			k.unsupported(val, p, reason)
			continue
		}
		if reason, ok := k.erbIn(val); ok {
			k.unsupported(val, p, reason)
			continue
		}
		if k.emptiedByERB(val) {
			continue // an unset variable: the report names it
		}
		ok, err := handle(key, val, p)
		if err != nil {
			return err
		}
		if !ok {
			k.unsupported(val, p, "is not a Kamal key Slipway knows; Kamal would reject it too")
		}
	}
	return nil
}

// str reads a scalar as text.
func (k *kamalImport) str(v *kval, path string) (string, error) {
	if v.isNull() || v.kind != yaml.ScalarNode {
		return "", k.typeErr(v, path, "a string")
	}
	return v.text, nil
}

// integer reads a whole number, written bare or quoted.
func (k *kamalImport) integer(v *kval, path string) (int, error) {
	if v != nil && v.kind == yaml.ScalarNode && (v.tag == "!!int" || v.tag == "!!str") {
		if n, err := strconv.Atoi(strings.ReplaceAll(v.text, "_", "")); err == nil {
			return n, nil
		}
	}
	return 0, k.typeErr(v, path, "a whole number")
}

func (k *kamalImport) boolean(v *kval, path string) (bool, error) {
	if v != nil && v.kind == yaml.ScalarNode && v.tag == "!!bool" {
		return strconv.ParseBool(strings.ToLower(v.text))
	}
	return false, k.typeErr(v, path, "true or false")
}

// seconds reads Kamal's durations: a number of seconds, or a Go
// duration such as "1m30s".
func (k *kamalImport) seconds(v *kval, path string) (time.Duration, error) {
	if v != nil && v.kind == yaml.ScalarNode && v.tag != "!!null" {
		if f, err := strconv.ParseFloat(strings.ReplaceAll(v.text, "_", ""), 64); err == nil && v.tag != "!!bool" {
			return time.Duration(f * float64(time.Second)), nil
		}
		if d, err := time.ParseDuration(v.text); err == nil {
			return d, nil
		}
	}
	return 0, k.typeErr(v, path, "a number of seconds")
}

// strList reads a list of scalars; one scalar counts as a list of one
// when single is true.
func (k *kamalImport) strList(v *kval, path string, single bool) ([]string, error) {
	if single && v != nil && v.kind == yaml.ScalarNode && !v.isNull() {
		return []string{v.text}, nil
	}
	if v.isNull() {
		return nil, nil
	}
	if v.kind != yaml.SequenceNode {
		return nil, k.typeErr(v, path, "a list")
	}
	out := make([]string, 0, len(v.items))
	for i, item := range v.items {
		if reason, ok := k.erbIn(item); ok {
			k.unsupported(item, indexPath(path, i), reason)
			continue
		}
		if k.emptiedByERB(item) {
			continue
		}
		s, err := k.str(item, indexPath(path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// strMap reads a map of scalars; a null value becomes "".
func (k *kamalImport) strMap(v *kval, path string) (map[string]string, error) {
	if v.isNull() {
		return nil, nil
	}
	if v.kind != yaml.MappingNode {
		return nil, k.typeErr(v, path, "a map")
	}
	m := make(map[string]string, len(v.keys))
	for i, key := range v.keys {
		val := v.vals[i]
		if reason, ok := k.erbText(v.file, key); ok {
			k.unsupported(val, keyPath(path, key), reason)
			continue
		}
		if reason, ok := k.erbIn(val); ok {
			k.unsupported(val, keyPath(path, key), reason)
			continue
		}
		if val.isNull() {
			m[key] = ""
			continue
		}
		s, err := k.str(val, keyPath(path, key))
		if err != nil {
			return nil, err
		}
		m[key] = s
	}
	return m, nil
}

// slipwayName makes a Kamal name ("my_app") a Slipway one ("my-app").
func (k *kamalImport) slipwayName(what, name string) string {
	n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	if n != name {
		k.note("%s %q is %q: Slipway names are lower-case letters, digits and dashes", what, name, n)
	}
	return n
}

func (k *kamalImport) app(cfg *kval, file string) (deploy.App, error) {
	var a deploy.App
	a.Destination = k.destination
	k.tags = map[string][]string{}
	k.aliases = map[string]kamalAlias{}
	k.renamed = map[string]string{}

	if v := cfg.get("require_destination"); v != nil {
		if req, err := k.boolean(v, "require_destination"); err != nil {
			return deploy.App{}, err
		} else if req && k.destination == "" && !k.withDestinations {
			return deploy.App{}, &Error{File: file, Line: cfg.get("require_destination").line, Path: "require_destination",
				Message: "the config requires a destination; pass one of: " + orNone(kamalDestinations(file)) + ", or read them all with LoadAll"}
		}
	}

	// ssh and env tags first: servers and roles use them.
	if err := k.sshConfig(cfg.get("ssh")); err != nil {
		return deploy.App{}, err
	}
	primary := deploy.DefaultPrimaryRole
	if v := cfg.get("primary_role"); v != nil {
		p, err := k.str(v, "primary_role")
		if err != nil {
			return deploy.App{}, err
		}
		primary = p
	}
	registry := cfg.get("registry")
	var registryServer string
	if s := registry.get("server"); s != nil {
		if _, erb := k.erbIn(s); !erb {
			var err error
			if registryServer, err = k.str(s, "registry.server"); err != nil {
				return deploy.App{}, err
			}
			if isLocalRegistry(registryServer) {
				registryServer = "" // the image is delivered over SSH
			}
		}
	}
	allowEmpty := false
	if v := cfg.get("allow_empty_roles"); v != nil {
		var err error
		if allowEmpty, err = k.boolean(v, "allow_empty_roles"); err != nil {
			return deploy.App{}, err
		}
	}
	var deployTimeout, drainTimeout, stopTimeout, readiness *kval
	var proxyCfg *kval

	err := k.fields(cfg, "", func(key string, v *kval, p string) (bool, error) {
		var err error
		switch key {
		case "service":
			var s string
			if s, err = k.str(v, p); err == nil {
				a.Service = k.slipwayName("service", s)
			}
		case "image":
			var s string
			if s, err = k.str(v, p); err == nil {
				a.Image = k.image(v, p, s, registryServer)
			}
		case "labels":
			a.Labels, err = k.strMap(v, p)
		case "volumes":
			a.Volumes, err = k.volumes(v, p)
		case "registry":
			err = k.registry(&a, v, p)
		case "servers":
			a.Roles, err = k.servers(v, p, primary, allowEmpty)
		case "env":
			a.Env, err = k.env(v, p, true)
		case "primary_role", "require_destination", "allow_empty_roles":
			// read above
		case "secrets_path":
			_, err = k.str(v, p)
		case "retain_containers":
			a.Retain, err = k.integer(v, p)
		case "deploy_timeout":
			deployTimeout = v
		case "drain_timeout":
			drainTimeout = v
		case "ssh":
			// read above
		case "proxy":
			proxyCfg = v
		case "boot":
			a.Boot, err = k.boot(v, p)
		case "accessories":
			// read after the roles, whose hosts they may use
		case "builder":
			a.Build, err = k.builder(v, p)
		case "logging":
			a.Logging, err = k.logging(v, p)
		case "sshkit", "output":
			reason := map[string]string{
				"sshkit": "SSHKit settings have no Slipway equivalent; the ssh transport has its own defaults",
				"output": "Kamal's output loggers are not supported; Slipway writes one line per host and step to Options.Output",
			}[key]
			k.eachKey(v, p, reason)
		case "aliases":
			k.aliasNotes(v, p)
		case "hooks_path":
			if _, err = k.str(v, p); err == nil {
				k.unsupported(v, p, "Kamal hook scripts are not run; port them to App.Hooks (Go funcs)")
			}
		case "asset_path":
			k.unsupported(v, p, "asset bridging between releases is not supported; serve fingerprinted assets from a CDN or keep old ones in the image")
		case "minimum_version":
			k.unsupported(v, p, "a minimum Kamal version means nothing to Slipway; pin the Slipway module version in go.mod")
		case "stop_timeout":
			stopTimeout = v
		case "readiness_delay":
			readiness = v
		case "run_directory":
			k.unsupported(v, p, "Slipway keeps its state on each host in its own place; nothing to set")
		case "error_pages_path":
			k.unsupported(v, p, "kamal-proxy error pages are not supported yet")
		case "hooks_output":
			k.unsupported(v, p, "Slipway hooks are Go funcs that write where they like (HookContext.Output)")
		case "healthcheck", "traefik":
			k.unsupported(v, p, "is a Kamal 1 key; move it under proxy (Kamal 2) first")
		default:
			return false, nil
		}
		return true, err
	})
	if err != nil {
		return deploy.App{}, err
	}

	k.envOverrides(&a)
	for _, name := range slices.Sorted(maps.Keys(a.Roles)) {
		if d := a.Roles[name].Logging.Driver; d != "" && d != a.Logging.Driver && len(a.Logging.Options) > 0 {
			k.note("role %s logs to %s: Slipway gives it none of logging.options, which belong to the root's driver (Kamal would pass them on to %s too)", name, d, d)
		}
	}
	if !cfg.has("builder") {
		if a.Build, err = k.builder(nil, "builder"); err != nil {
			return deploy.App{}, err
		}
	}
	if err := k.proxy(&a, proxyCfg, cfg, primary); err != nil {
		return deploy.App{}, err
	}
	if err := k.timeouts(&a, deployTimeout, drainTimeout, stopTimeout); err != nil {
		return deploy.App{}, err
	}
	if err := k.readiness(&a, readiness); err != nil {
		return deploy.App{}, err
	}
	if v := cfg.get("primary_role"); v != nil {
		a.PrimaryRole = k.roleName(primary)
		if a.PrimaryRole == deploy.DefaultPrimaryRole {
			a.PrimaryRole = ""
		}
	}
	if err := k.applyTags(&a); err != nil {
		return deploy.App{}, err
	}
	if v := cfg.get("accessories"); v != nil {
		if a.Accessories, err = k.accessories(v, "accessories", &a); err != nil {
			return deploy.App{}, err
		}
	}
	if err := k.secretsSource(&a, cfg); err != nil {
		return deploy.App{}, err
	}
	k.hooksNote(cfg)
	if k.destination == "" && !k.withDestinations {
		if d := kamalDestinations(file); len(d) > 0 {
			k.note("destinations %s have overlays; import one with kamal.Load(path, %q), or all with kamal.LoadAll(path)", strings.Join(d, ", "), d[0])
		}
	}
	return a, nil
}

// envOverrides carries over Kamal's merge of a role's env over the
// top-level one, where a role's clear value replaces a top-level secret
// of the same name (or a role's secret a clear value): Slipway keeps a
// name clear or secret for the whole app, so the top-level entry moves
// down into the other roles.
func (k *kamalImport) envOverrides(a *deploy.App) {
	names := slices.Sorted(maps.Keys(a.Roles))
	overriding := func(has func(deploy.Env) bool) (over, others []string) {
		for _, n := range names {
			if has(a.Roles[n].Env) {
				over = append(over, n)
			} else {
				others = append(others, n)
			}
		}
		return over, others
	}
	for _, name := range slices.Clone(a.Env.Secret) {
		over, others := overriding(func(e deploy.Env) bool { _, ok := e.Clear[name]; return ok })
		if len(over) == 0 {
			continue
		}
		a.Env.Secret = slices.DeleteFunc(a.Env.Secret, func(s string) bool { return s == name })
		for _, n := range others {
			r := a.Roles[n]
			if !slices.Contains(r.Env.Secret, name) {
				r.Env.Secret = append(slices.Clone(r.Env.Secret), name)
			}
			a.Roles[n] = r
		}
		k.note("env.secret %s is replaced by a clear value in role %s, as Kamal merges a role's env; Slipway lists the secret in the other roles' env instead (%s)", name, strings.Join(over, ", "), orNone(others))
	}
	for _, name := range slices.Sorted(maps.Keys(a.Env.Clear)) {
		over, others := overriding(func(e deploy.Env) bool { return slices.Contains(e.Secret, name) })
		if len(over) == 0 {
			continue
		}
		value := a.Env.Clear[name]
		delete(a.Env.Clear, name)
		if len(a.Env.Clear) == 0 {
			a.Env.Clear = nil
		}
		for _, n := range others {
			r := a.Roles[n]
			if _, ok := r.Env.Clear[name]; !ok {
				r.Env.Clear = maps.Clone(r.Env.Clear)
				if r.Env.Clear == nil {
					r.Env.Clear = map[string]string{}
				}
				r.Env.Clear[name] = value
			}
			a.Roles[n] = r
		}
		k.note("env.clear %s is replaced by a secret in role %s, as Kamal merges a role's env; Slipway sets the clear value in the other roles' env instead (%s)", name, strings.Join(over, ", "), orNone(others))
	}
}

// aliasNotes lists Kamal's CLI aliases as not needed: a Mage target, or
// one of the ready targets, does what each did.
func (k *kamalImport) aliasNotes(v *kval, path string) {
	if v.isNull() || v.kind != yaml.MappingNode {
		k.notNeeded(v, path, "Kamal CLI aliases are shell shortcuts; in Slipway write a Mage target (a Go func in magefiles/)")
		return
	}
	for i, key := range v.keys {
		if strings.HasPrefix(key, "x-") {
			continue
		}
		val := v.vals[i]
		k.notNeeded(val, keyPath(path, key), "a Kamal CLI shortcut; "+aliasTarget(val.text))
	}
}

// aliasTarget says which Mage target does what a Kamal alias does.
func aliasTarget(alias string) string {
	words, _ := splitShellWords(alias)
	if len(words) >= 2 && words[0] == "app" {
		var rest, flags []string
		reuse, interactive := false, false
		for i := 2; i < len(words); i++ {
			switch w := words[i]; w {
			case "--reuse":
				reuse = true
			case "-i", "--interactive":
				interactive = true
			case "-r", "--roles":
				if i+1 < len(words) {
					i++
					flags = append(flags, "-role "+words[i])
				}
			case "-h", "--hosts":
				if i+1 < len(words) {
					i++
					flags = append(flags, "-host "+words[i])
				}
			case "-d", "--destination":
				if i+1 < len(words) {
					i++
					flags = append(flags, "-destination "+words[i])
				}
			case "-e", "--env", "-c", "--config-file", "-n", "--lines", "--since", "-g", "--grep", "--version":
				i++ // a value Mage's targets have no flag for
			default:
				if !strings.HasPrefix(w, "-") {
					rest = append(rest, w)
				}
			}
		}
		if reuse {
			flags = append(flags, "-reuse")
		}
		extra := ""
		if len(flags) > 0 {
			extra = " " + strings.Join(flags, " ")
		}
		switch words[1] {
		case "exec":
			cmd := "mage exec " + strconv.Quote(strings.Join(rest, " ")) + extra
			if interactive {
				cmd += " (output only, no terminal: for a console, ssh to the host and docker exec -it)"
			}
			return "the ready targets do it: " + cmd + "; or write a Mage target calling Session.Exec"
		case "logs":
			return "the ready targets do it: mage logs -follow" + strings.ReplaceAll(extra, " -reuse", "") + "; or write a Mage target calling Session.Logs"
		case "details":
			return "the ready targets do it: mage details"
		}
	}
	if len(words) >= 1 && words[0] == "details" {
		return "the ready targets do it: mage details"
	}
	return "write it as a Mage target (a Go func in magefiles/) that calls the SDK"
}

// notNeeded records what Slipway needs no equivalent of.
func (k *kamalImport) notNeeded(v *kval, path, reason string) {
	key := Key{Path: path, Reason: reason}
	if v != nil {
		key.File, key.Line = v.file, v.line
	}
	k.report.NotNeeded = append(k.report.NotNeeded, key)
}

// eachKey reports every key under a map (or the value itself when it is
// not a map) with one reason.
func (k *kamalImport) eachKey(v *kval, path, reason string) {
	if v.isNull() || v.kind != yaml.MappingNode {
		k.unsupported(v, path, reason)
		return
	}
	for i, key := range v.keys {
		if !strings.HasPrefix(key, "x-") {
			k.unsupported(v.vals[i], keyPath(path, key), reason)
		}
	}
}

// image splits off a tag or digest and puts the registry server in front,
// as Kamal names the repository it pushes.
func (k *kamalImport) image(v *kval, path, ref, server string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		k.unsupported(v, path, fmt.Sprintf("the digest %s is dropped: each release sets its own tag", ref[i+1:]))
		ref = ref[:i]
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		k.note("image tag %q is dropped: each Release sets its version as the tag", ref[i+1:])
		ref = ref[:i]
	}
	if server != "" && !strings.HasPrefix(ref, server+"/") {
		ref = server + "/" + ref
		k.note("image is %s: Kamal pushes to registry.server/image", ref)
	}
	return ref
}

// volumes keeps named volumes, and mounts a host directory as a named
// volume of its own, with a note: Slipway mounts named volumes only. A
// host file cannot be a volume, so it is reported.
func (k *kamalImport) volumes(v *kval, path string) ([]string, error) {
	vols, err := k.strList(v, path, false)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, vol := range vols {
		p := indexPath(path, i)
		item := v.items[i]
		src, rest, _ := strings.Cut(vol, ":")
		target, opts, _ := strings.Cut(rest, ":")
		switch {
		case opts != "" && opts != "ro" && opts != "rw":
			k.unsupported(item, p, fmt.Sprintf("mount options %q are not supported; only ro and rw are", opts))
		case strings.ContainsAny(src, "/~") || strings.HasPrefix(src, "."):
			if mounted, ok := k.hostPath(item, p, src, target, opts, "a host path"); ok {
				out = append(out, mounted)
			}
		default:
			out = append(out, vol)
		}
	}
	return out, nil
}

// directories reads an accessory's directories, host directories Kamal
// makes (a relative one under <service>-<accessory>/ in the login's
// home) and mounts, written "dir:/path[:options]" or as a map (local,
// remote, mode, owner, options): each becomes a named volume, with a
// note. SELinux labels (z, Z) are dropped with a note; a mode or owner
// is reported, as a named volume takes the image's.
func (k *kamalImport) directories(v *kval, path, service, accessory string) ([]string, error) {
	if v.isNull() {
		return nil, nil
	}
	if v.kind != yaml.SequenceNode {
		return nil, k.typeErr(v, path, "a list")
	}
	var out []string
	for i, item := range v.items {
		p := indexPath(path, i)
		if reason, ok := k.erbIn(item); ok {
			k.unsupported(item, p, reason)
			continue
		}
		if k.emptiedByERB(item) {
			continue
		}
		var src, target, opts string
		switch item.kind {
		case yaml.MappingNode:
			err := k.fields(item, p, func(key string, val *kval, fp string) (bool, error) {
				var err error
				switch key {
				case "local":
					src, err = k.str(val, fp)
				case "remote":
					target, err = k.str(val, fp)
				case "options":
					opts, err = k.str(val, fp)
				case "mode", "owner":
					k.unsupported(val, fp, "a named volume is not chmod-ed or chown-ed; the image (or an init step of the accessory) sets its owner")
				default:
					return false, nil
				}
				return true, err
			})
			if err != nil {
				return nil, err
			}
		default:
			dir, err := k.str(item, p)
			if err != nil {
				return nil, err
			}
			var rest string
			src, rest, _ = strings.Cut(dir, ":")
			target, opts, _ = strings.Cut(rest, ":")
		}
		var kept []string
		bad := false
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "":
			case "ro", "rw":
				kept = append(kept, o)
			case "z", "Z":
				k.note("%s (%s:%d): the SELinux label option %s is dropped; the engine labels named volumes itself", p, item.file, item.line, o)
			default:
				bad = true
			}
		}
		if src == "" || !strings.HasPrefix(target, "/") || bad || len(kept) > 1 {
			k.unsupported(item, p, fmt.Sprintf("want \"dir:/path/in/container\" (with :ro, :rw, :z or :Z), got %s", item.describe()))
			continue
		}
		host := src
		if !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, "~") {
			host = "~/" + service + "-" + accessory + "/" + src
		}
		name := volumeName(service + "-" + accessory + "-" + strings.Trim(src, "/.~"))
		if strings.HasPrefix(src, "/") {
			name = volumeName(src)
		}
		mounted := name + ":" + target
		if len(kept) == 1 {
			mounted += ":" + kept[0]
		}
		k.note("%s (%s:%d): the host directory %s is the named volume %s, which starts empty: copy the data in before the first deploy (docker run --rm -v %s:/from -v %s:/to busybox cp -a /from/. /to/)",
			p, item.file, item.line, host, name, host, name)
		out = append(out, mounted)
	}
	return out, nil
}

// hostPath mounts a host directory as a named volume named after it,
// with a note; a file (a name with an extension) is reported instead.
func (k *kamalImport) hostPath(item *kval, p, src, target, opts, what string) (string, bool) {
	if !strings.HasPrefix(target, "/") {
		k.unsupported(item, p, fmt.Sprintf("want \"host/path:/path/in/container\", got %q", item.text))
		return "", false
	}
	if ext := filepath.Ext(filepath.Base(target)); ext != "" && ext != filepath.Base(target) {
		k.unsupported(item, p, fmt.Sprintf("mounts the host file %s; Slipway mounts named volumes only: bake the file into the image, or give an accessory Files", src))
		return "", false
	}
	name := volumeName(src)
	mounted := name + ":" + target
	if opts != "" {
		mounted += ":" + opts
	}
	k.note("%s (%s:%d): %s %s is the named volume %s, which starts empty: copy the data in before the first deploy (docker run --rm -v %s:/from -v %s:/to busybox cp -a /from/. /to/)",
		p, item.file, item.line, what, src, name, src, name)
	return mounted, true
}

// volumeName makes a volume name of a host path: "/var/lib/app" is
// "var-lib-app".
func volumeName(p string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(p) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-._")
	for strings.Contains(n, "--") {
		n = strings.ReplaceAll(n, "--", "-")
	}
	if n == "" {
		n = "data"
	}
	return n
}

// registry reads the registry login into App.Registry. The server is
// already part of App.Image, as Kamal names the repository it pushes.
func (k *kamalImport) registry(a *deploy.App, v *kval, path string) error {
	r := &deploy.Registry{}
	local := false
	err := k.fields(v, path, func(key string, val *kval, p string) (bool, error) {
		var err error
		switch key {
		case "server":
			var server string
			if server, err = k.str(val, p); err == nil && isLocalRegistry(server) {
				local = true
				k.note("%s %s: Kamal's local registry carries the image to the hosts over SSH; Slipway delivers it over SSH with no registry (App.Registry is nil)", p, server)
			}
		case "username":
			if val.kind == yaml.SequenceNode {
				k.unsupported(val, p, "a user name held in a secret is not supported; write the user name")
			} else {
				r.Username, err = k.str(val, p)
			}
		case "password":
			switch {
			case val.kind == yaml.SequenceNode:
				var names []string
				if names, err = k.strList(val, p, false); err == nil && len(names) > 0 {
					r.PasswordSecret = names[0]
					k.secrets = append(k.secrets, names[0])
				}
			case val.kind == yaml.MappingNode:
				err = k.typeErr(val, p, "a list holding the name of the secret with the password, such as [KAMAL_REGISTRY_PASSWORD]")
			case !val.isNull():
				k.unsupported(val, p, "holds the password itself (not shown); move it to .kamal/secrets and list its name: password: [NAME]")
			}
		default:
			return false, nil
		}
		return true, err
	})
	if err != nil {
		return err
	}
	if *r != (deploy.Registry{}) && !local {
		a.Registry = r
	}
	return nil
}

// isLocalRegistry reports whether a registry server is Kamal's local
// one ("localhost:5555"), which it reaches through an SSH tunnel.
func isLocalRegistry(server string) bool {
	host, _, _ := strings.Cut(server, ":")
	return host == "localhost" || host == "127.0.0.1"
}

func (k *kamalImport) sshConfig(v *kval) error {
	return k.fields(v, "ssh", func(key string, val *kval, p string) (bool, error) {
		var err error
		switch key {
		case "user":
			k.ssh.user, err = k.str(val, p)
		case "port":
			k.ssh.port, err = k.integer(val, p)
		case "proxy":
			var s string
			if s, err = k.str(val, p); err == nil {
				j := parseKamalHost(s)
				if j.User == "" {
					j.User = "root" // as Kamal does
				}
				k.ssh.jump = &j
			}
		case "keys":
			var keys []string
			if keys, err = k.strList(val, p, true); err == nil {
				home, _ := os.UserHomeDir()
				for _, f := range keys {
					if rest, ok := strings.CutPrefix(f, "~/"); ok && home != "" {
						f = filepath.Join(home, rest)
					}
					k.ssh.keyFiles = append(k.ssh.keyFiles, f)
				}
			}
		case "proxy_command":
			k.unsupported(val, p, "a proxy command is not supported; use ssh.proxy (a bastion) instead")
		case "key_data":
			k.unsupported(val, p, "keys held in secrets are not supported; write the key to a file and list it in ssh.keys")
		case "keys_only", "log_level", "config", "forward_agent":
			k.unsupported(val, p, "has no Slipway equivalent; the ssh transport uses its KeyFiles (or ~/.ssh/id_*) and never reads ~/.ssh/config or forwards the agent")
		default:
			return false, nil
		}
		return true, err
	})
}

// parseKamalHost reads "host", "user@host", "host:port" and
// "user@[::1]:port".
func parseKamalHost(s string) deploy.Server {
	var srv deploy.Server
	if user, host, ok := strings.Cut(s, "@"); ok {
		srv.User, s = user, host
	}
	if strings.HasPrefix(s, "[") {
		if end := strings.Index(s, "]"); end > 0 {
			host, rest := s[1:end], s[end+1:]
			if p, err := strconv.Atoi(strings.TrimPrefix(rest, ":")); err == nil && strings.HasPrefix(rest, ":") {
				srv.Port = p
			}
			srv.Host = host
			return srv
		}
	}
	if strings.Count(s, ":") == 1 {
		host, port, _ := strings.Cut(s, ":")
		if p, err := strconv.Atoi(port); err == nil {
			srv.Host, srv.Port = host, p
			return srv
		}
	}
	srv.Host = s
	return srv
}

// server makes a Server of a host entry, with the ssh defaults.
func (k *kamalImport) server(host string) deploy.Server {
	s := parseKamalHost(host)
	if s.User == "" {
		s.User = k.ssh.user
	}
	if s.Port == 0 {
		s.Port = k.ssh.port
	}
	if k.ssh.jump != nil {
		j := *k.ssh.jump
		s.Jump = &j
	}
	s.KeyFiles = slices.Clone(k.ssh.keyFiles)
	return s
}

func (k *kamalImport) roleName(name string) string {
	if n, ok := k.renamed[name]; ok {
		return n
	}
	return strings.ToLower(strings.ReplaceAll(name, "_", "-"))
}

// servers reads servers as a list (the web role) or as roles.
func (k *kamalImport) servers(v *kval, path, primary string, allowEmpty bool) (deploy.Roles, error) {
	roles := deploy.Roles{}
	if v.kind == yaml.SequenceNode {
		servers, err := k.hosts(v, path, "web")
		if err != nil {
			return nil, err
		}
		roles[deploy.DefaultPrimaryRole] = deploy.Role{Servers: servers}
		k.renamed["web"] = deploy.DefaultPrimaryRole
		return roles, nil
	}
	err := k.fields(v, path, func(name string, rv *kval, p string) (bool, error) {
		slip := k.slipwayName("role", name)
		k.renamed[name] = slip
		r, err := k.role(rv, p, name)
		if err != nil {
			return true, err
		}
		if len(r.Servers) == 0 && allowEmpty {
			k.unsupported(rv, p, "has no hosts; allow_empty_roles lets Kamal skip it, Slipway leaves it out")
			return true, nil
		}
		roles[slip] = r
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if allowEmpty {
		k.note("allow_empty_roles: roles without hosts are left out")
	}
	return roles, nil
}

// hosts reads a list of hosts, each "host" or {"host": tag(s)}.
func (k *kamalImport) hosts(v *kval, path, role string) ([]deploy.Server, error) {
	if v.isNull() {
		return nil, nil
	}
	items := v.items
	if v.kind == yaml.ScalarNode {
		items = []*kval{v}
	} else if v.kind != yaml.SequenceNode {
		return nil, k.typeErr(v, path, "a list of hosts")
	}
	var out []deploy.Server
	for i, item := range items {
		p := indexPath(path, i)
		if v.kind == yaml.ScalarNode {
			p = path
		}
		if reason, ok := k.erbIn(item); ok {
			k.unsupported(item, p, reason)
			continue
		}
		if item.kind == yaml.MappingNode && len(item.keys) == 1 {
			if reason, ok := k.erbText(item.file, item.keys[0]); ok {
				k.unsupported(item, p, reason)
				continue
			}
		}
		if k.emptiedByERB(item) {
			out = append(out, k.server("")) // validation names the variable
			continue
		}
		var host string
		var tags []string
		switch {
		case item.kind == yaml.ScalarNode && !item.isNull():
			host = item.text
		case item.kind == yaml.MappingNode && len(item.keys) == 1:
			host = item.keys[0]
			var err error
			if tags, err = k.strList(item.vals[0], keyPath(p, host), true); err != nil {
				return nil, err
			}
		default:
			return nil, k.typeErr(item, p, `a host, or a host with its tags ("host: tag")`)
		}
		if len(tags) > 0 {
			k.tags[host] = append(k.tags[host], tags...)
			k.hostTags = append(k.hostTags, taggedHost{role: role, host: host, path: p, tags: tags, v: item})
		}
		out = append(out, k.server(host))
	}
	return out, nil
}

// role reads servers.<name>: a list of hosts or a map.
func (k *kamalImport) role(v *kval, path, name string) (deploy.Role, error) {
	var r deploy.Role
	if v.kind == yaml.SequenceNode || v.isNull() {
		var err error
		r.Servers, err = k.hosts(v, path, name)
		return r, err
	}
	err := k.fields(v, path, func(key string, val *kval, p string) (bool, error) {
		var err error
		switch key {
		case "hosts":
			r.Servers, err = k.hosts(val, p, name)
		case "cmd":
			r.Cmd, err = k.cmd(val, p)
		case "options":
			r.Options, err = k.options(val, p)
		case "labels":
			r.Labels, err = k.strMap(val, p)
		case "env":
			r.Env, err = k.env(val, p, false)
		case "proxy":
			// read by proxy
		case "logging":
			r.Logging, err = k.logging(val, p)
		case "stop_timeout":
			r.StopTimeout, err = k.seconds(val, p)
		case "asset_path":
			k.unsupported(val, p, "asset bridging between releases is not supported")
		default:
			return false, nil
		}
		return true, err
	})
	return r, err
}

// shellMetaRe finds shell syntax in an unquoted command.
var shellMetaRe = regexp.MustCompile("[|&;<>()$`*?]")

// cmd reads a command. Kamal appends a string to `docker run` as the
// host shell splits it; a list is taken as written.
func (k *kamalImport) cmd(v *kval, path string) ([]string, error) {
	if v.kind == yaml.SequenceNode {
		return k.strList(v, path, false)
	}
	s, err := k.str(v, path)
	if err != nil {
		return nil, err
	}
	words, plain := splitShellWords(s)
	if !plain {
		k.unsupported(v, path, fmt.Sprintf("uses shell syntax; imported as [sh -c %q], which needs a shell in the image: check it", s))
		return []string{"sh", "-c", s}, nil
	}
	return words, nil
}

// splitShellWords splits s as a POSIX shell splits words, with quotes
// and backslashes. plain is false when s holds shell syntax outside
// quotes (pipes, variables, globs, ...) or an unclosed quote.
func splitShellWords(s string) (words []string, plain bool) {
	var w strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			in = true
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, false
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
			in = true
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				switch {
				case s[j] == '$' || s[j] == '`':
					return nil, false
				case s[j] == '\\' && j+1 < len(s) && strings.IndexByte("\"\\$`", s[j+1]) >= 0:
					j++
				}
				w.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, false
			}
			i = j
			in = true
		case shellMetaRe.MatchString(string(c)):
			return nil, false
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words, true
}

// options reads `docker run` options into ContainerOptions.
func (k *kamalImport) options(v *kval, path string) (deploy.ContainerOptions, error) {
	var o deploy.ContainerOptions
	err := k.fields(v, path, func(key string, val *kval, p string) (bool, error) {
		var err error
		switch key {
		case "memory", "m":
			var s string
			if s, err = k.str(val, p); err == nil {
				o.Memory, err = parseMemory(s)
				if err != nil {
					err = &Error{File: val.file, Line: val.line, Path: p, Message: err.Error()}
				} else if !plainMemoryRe.MatchString(s) {
					k.note("%s %s is %d bytes (ContainerOptions.Memory), as Docker reads it", p, s, o.Memory)
				}
			}
		case "cpus":
			var s string
			if s, err = k.str(val, p); err == nil {
				if o.CPUs, err = strconv.ParseFloat(s, 64); err != nil {
					err = k.typeErr(val, p, "a number of CPUs, such as 1.5")
				}
			}
		case "user", "u":
			o.User, err = k.str(val, p)
		case "restart":
			o.Restart, err = k.str(val, p)
		case "add-host", "add_host":
			o.ExtraHosts, err = k.strList(val, p, true)
		case "init":
			if val.isNull() {
				o.Init = true // "--init" with no value
			} else {
				o.Init, err = k.boolean(val, p)
			}
		default:
			k.unsupported(val, p, "this docker run option is not supported; ContainerOptions has memory, cpus, user, restart, add-host and init")
		}
		return true, err
	})
	return o, err
}

// parseMemory reads Docker's memory sizes as docker run does: a number,
// then an optional unit k, m, g, t or p (any case), an optional "i" and
// an optional "b": "512m", "2g", "500MiB", "2Gb", "1073741824". The
// units are powers of 1024, as Docker's are.
func parseMemory(s string) (int64, error) {
	m := memoryRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("must be a memory size such as \"512m\" or \"2g\", got %q", s)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("must be a memory size such as \"512m\" or \"2g\", got %q", s)
	}
	mult := int64(1)
	if m[2] != "" {
		mult = 1 << (10 * (strings.Index("kmgtp", strings.ToLower(m[2])) + 1))
	}
	return int64(f * float64(mult)), nil
}

// plainMemoryRe is a size Slipway would write the same: bytes, or a
// number with one of k, m, g.
var plainMemoryRe = regexp.MustCompile(`^\d+[kmg]?$`)

// memoryRe is Docker's memory size syntax (go-units' RAMInBytes).
var memoryRe = regexp.MustCompile(`^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$`)

// env reads Kamal's env: a map of clear values, or clear/secret (and at
// the top, tags).
func (k *kamalImport) env(v *kval, path string, top bool) (deploy.Env, error) {
	var e deploy.Env
	if v.isNull() {
		return e, nil
	}
	if v.kind != yaml.MappingNode {
		return e, k.typeErr(v, path, "a map")
	}
	structured := slices.Contains(v.keys, "clear") || slices.Contains(v.keys, "secret") || slices.Contains(v.keys, "tags")
	if !structured {
		m, err := k.strMap(v, path)
		e.Clear = m
		return e, err
	}
	err := k.fields(v, path, func(key string, val *kval, p string) (bool, error) {
		var err error
		switch key {
		case "clear":
			e.Clear, err = k.strMap(val, p)
		case "secret":
			e.Secret, err = k.secretList(val, p)
		case "tags":
			if !top {
				k.unsupported(val, p, "Kamal allows tags only in the top-level env")
				return true, nil
			}
			err = k.fields(val, p, func(tag string, tv *kval, tp string) (bool, error) {
				te, err := k.env(tv, tp, false)
				if k.envTags == nil {
					k.envTags = map[string]deploy.Env{}
				}
				k.envTags[tag] = te
				return true, err
			})
		default:
			return false, nil
		}
		return true, err
	})
	return e, err
}

// secretList reads env.secret, resolving NAME:ALIAS to NAME with an
// app-wide alias; a name aliased two ways cannot be expressed.
func (k *kamalImport) secretList(v *kval, path string) ([]string, error) {
	list, err := k.strList(v, path, false)
	if err != nil {
		return nil, err
	}
	var names []string
	for i, s := range list {
		p := indexPath(path, i)
		name, secret, aliased := strings.Cut(s, ":")
		if !aliased {
			secret = name
		}
		k.secrets = append(k.secrets, secret)
		if slices.Contains(names, name) {
			k.note("%s lists %s twice; Slipway lists it once", path, name)
			continue
		}
		if prev, ok := k.aliases[name]; ok && prev.secret != secret {
			k.unsupported(v.items[i], p, fmt.Sprintf("%s is the secret %s here but %s at %s; Slipway gives an env name one secret for the whole app, so %s is left out here: rename one of them",
				name, secret, prev.secret, prev.path, name))
			continue
		}
		if _, ok := k.aliases[name]; !ok {
			k.aliases[name] = kamalAlias{secret: secret, path: p}
		}
		names = append(names, name)
	}
	return names, nil
}

// proxy puts kamal-proxy in front of the primary role (unless it says
// proxy: false) and of the roles that ask for it, with the root proxy
// settings under each role's own.
func (k *kamalImport) proxy(a *deploy.App, root, cfg *kval, primary string) error {
	rootSpec, err := k.proxySpec(root, "proxy")
	if err != nil {
		return err
	}
	servers := cfg.get("servers")
	for _, name := range slices.Sorted(maps.Keys(k.renamed)) {
		slip := k.renamed[name]
		r, ok := a.Roles[slip]
		if !ok {
			continue
		}
		var rv *kval
		if servers != nil && servers.kind == yaml.MappingNode {
			rv = servers.get(name).get("proxy")
		}
		p := keyPath(keyPath("servers", name), "proxy")
		on := name == primary
		spec := rootSpec
		switch {
		case rv == nil || rv.isNull():
		case rv.kind == yaml.ScalarNode && rv.tag == "!!bool":
			if on, err = k.boolean(rv, p); err != nil {
				return err
			}
		case rv.kind == yaml.MappingNode:
			on = true
			role, err := k.proxySpec(rv, p)
			if err != nil {
				return err
			}
			spec = spec.over(role)
		default:
			return k.typeErr(rv, p, "true, false or a map of proxy settings")
		}
		if !on {
			continue
		}
		px := spec.proxy()
		if named(spec.cert) != named(spec.key) {
			at := cmp.Or(rv, root)
			k.unsupported(at, p, "a custom certificate needs both ssl.certificate_pem and ssl.private_key_pem (Kamal ignores one alone); automatic HTTPS is used")
		}
		r.Proxy = &px
		a.Roles[slip] = r
		k.proxied = true
	}
	return nil
}

// kamalProxy is one level of proxy settings; nil means not set there.
type kamalProxy struct {
	hosts                   []string
	appPort                 *int
	tls                     *bool
	path                    *string
	interval, timeout       *time.Duration
	response                *time.Duration
	bufRequests, bufReplies *bool
	httpPort, httpsPort     *int
	image                   *string
	run                     *proxyRunOptions // proxy.run's metrics_port, debug, log_max_size, bind_ips
	cert, key               *string          // secret names
	sslRedirect             *bool
	forwardHeaders          *bool
	pathPrefix              *string
	stripPrefix             *bool
}

// over returns s with o's settings over it.
func (s kamalProxy) over(o kamalProxy) kamalProxy {
	if o.hosts != nil {
		s.hosts = o.hosts
	}
	pick := func(a, b *int) *int {
		if b != nil {
			return b
		}
		return a
	}
	pickD := func(a, b *time.Duration) *time.Duration {
		if b != nil {
			return b
		}
		return a
	}
	pickB := func(a, b *bool) *bool {
		if b != nil {
			return b
		}
		return a
	}
	s.appPort, s.httpPort, s.httpsPort = pick(s.appPort, o.appPort), pick(s.httpPort, o.httpPort), pick(s.httpsPort, o.httpsPort)
	if o.run != nil {
		s.run = o.run
	}
	s.interval, s.timeout, s.response = pickD(s.interval, o.interval), pickD(s.timeout, o.timeout), pickD(s.response, o.response)
	s.tls, s.bufRequests, s.bufReplies = pickB(s.tls, o.tls), pickB(s.bufRequests, o.bufRequests), pickB(s.bufReplies, o.bufReplies)
	if o.path != nil {
		s.path = o.path
	}
	if o.image != nil {
		s.image = o.image
	}
	pickS := func(a, b *string) *string {
		if b != nil {
			return b
		}
		return a
	}
	s.cert, s.key, s.pathPrefix = pickS(s.cert, o.cert), pickS(s.key, o.key), pickS(s.pathPrefix, o.pathPrefix)
	s.sslRedirect, s.forwardHeaders, s.stripPrefix = pickB(s.sslRedirect, o.sslRedirect), pickB(s.forwardHeaders, o.forwardHeaders), pickB(s.stripPrefix, o.stripPrefix)
	return s
}

// proxy makes the Proxy, with Kamal's buffering default.
func (s kamalProxy) proxy() deploy.Proxy {
	px := deploy.Proxy{Hosts: slices.Clone(s.hosts), BufferRequests: true, BufferResponses: true}
	if s.appPort != nil {
		px.AppPort = *s.appPort
	}
	if s.tls != nil {
		px.TLS = *s.tls
	}
	if s.path != nil {
		px.Health.Path = *s.path
	}
	if s.interval != nil {
		px.Health.Interval = *s.interval
	}
	if s.timeout != nil {
		px.Health.Timeout = *s.timeout
	}
	if s.response != nil {
		px.ResponseTimeout = *s.response
	}
	if s.bufRequests != nil {
		px.BufferRequests = *s.bufRequests
	}
	if s.bufReplies != nil {
		px.BufferResponses = *s.bufReplies
	}
	if s.httpPort != nil {
		px.HTTPPort = *s.httpPort
	}
	if s.httpsPort != nil {
		px.HTTPSPort = *s.httpsPort
	}
	if s.image != nil {
		px.Image = *s.image
	}
	if r := s.run; r != nil {
		px.MetricsPort, px.Debug, px.LogMaxSize, px.BindIPs = r.metricsPort, r.debug, r.logMaxSize, r.bindIPs
	}
	if named(s.cert) && named(s.key) {
		px.TLSCertificate, px.TLSPrivateKey = *s.cert, *s.key
	}
	if s.pathPrefix != nil {
		px.PathPrefix = *s.pathPrefix
	}
	px.SSLRedirect, px.ForwardHeaders, px.StripPathPrefix = s.sslRedirect, s.forwardHeaders, s.stripPrefix
	return px
}

// proxySpec reads one level of proxy settings.
func (k *kamalImport) proxySpec(v *kval, path string) (kamalProxy, error) {
	var s kamalProxy
	intp := func(val *kval, p string) (*int, error) {
		n, err := k.integer(val, p)
		return &n, err
	}
	durp := func(val *kval, p string) (*time.Duration, error) {
		d, err := k.seconds(val, p)
		return &d, err
	}
	boolp := func(val *kval, p string) (*bool, error) {
		b, err := k.boolean(val, p)
		return &b, err
	}
	strp := func(val *kval, p string) (*string, error) {
		t, err := k.str(val, p)
		return &t, err
	}
	var host, hosts *kval
	err := k.fields(v, path, func(key string, val *kval, p string) (bool, error) {
		var err error
		switch key {
		case "host":
			host = val
			var h string
			if h, err = k.str(val, p); err == nil {
				s.hosts = strings.Split(h, ",")
				for i := range s.hosts {
					s.hosts[i] = strings.TrimSpace(s.hosts[i])
				}
			}
		case "hosts":
			hosts = val
		case "app_port":
			s.appPort, err = intp(val, p)
		case "ssl":
			if val.kind == yaml.MappingNode {
				// Kamal 2.5's custom certificate: the names of two secrets.
				on := true
				s.tls = &on
				err = k.fields(val, p, func(ck string, cv *kval, cp string) (bool, error) {
					var err error
					switch ck {
					case "certificate_pem":
						s.cert, err = k.secretName(cv, cp)
					case "private_key_pem":
						s.key, err = k.secretName(cv, cp)
					default:
						return false, nil
					}
					return true, err
				})
			} else {
				s.tls, err = boolp(val, p)
				// ssl: true or false replaces a certificate set below, as
				// Kamal's deep merge replaces the map.
				none := ""
				if s.cert == nil {
					s.cert = &none
				}
				if s.key == nil {
					s.key = &none
				}
			}
		case "certificate_pem":
			s.cert, err = k.secretName(val, p) // Kamal 2.4 wrote it beside ssl
		case "private_key_pem":
			s.key, err = k.secretName(val, p)
		case "ssl_redirect":
			s.sslRedirect, err = boolp(val, p)
		case "forward_headers":
			s.forwardHeaders, err = boolp(val, p)
		case "path_prefix":
			s.pathPrefix, err = strp(val, p)
		case "strip_path_prefix":
			s.stripPrefix, err = boolp(val, p)
		case "healthcheck":
			err = k.fields(val, p, func(hk string, hv *kval, hp string) (bool, error) {
				var err error
				switch hk {
				case "path":
					s.path, err = strp(hv, hp)
				case "interval":
					s.interval, err = durp(hv, hp)
				case "timeout":
					s.timeout, err = durp(hv, hp)
				default:
					return false, nil
				}
				return true, err
			})
		case "response_timeout":
			s.response, err = durp(val, p)
		case "buffering":
			err = k.fields(val, p, func(bk string, bv *kval, bp string) (bool, error) {
				var err error
				switch bk {
				case "requests":
					s.bufRequests, err = boolp(bv, bp)
				case "responses":
					s.bufReplies, err = boolp(bv, bp)
				case "memory", "max_request_body", "max_response_body":
					k.unsupported(bv, bp, "buffer sizes are not configurable; kamal-proxy's defaults apply")
				default:
					return false, nil
				}
				return true, err
			})
		case "run":
			err = k.proxyRun(&s, val, p)
		case "path_prefixes":
			k.unsupported(val, p, "Proxy has one PathPrefix; give each prefix a role of its own")
		case "logging":
			k.unsupported(val, p, "kamal-proxy's request log headers are not configurable; its defaults apply")
		default:
			return false, nil
		}
		return true, err
	})
	if err != nil {
		return s, err
	}
	if hosts != nil {
		if s.hosts, err = k.strList(hosts, keyPath(path, "hosts"), true); err != nil {
			return s, err
		}
		if host != nil {
			k.unsupported(host, keyPath(path, "host"), "both host and hosts are set (Kamal rejects this); hosts is used")
		}
	}
	return s, nil
}

// logging reads Kamal's logging: the driver and its options (--log-driver
// and --log-opt), which Slipway merges as Kamal does, a role's over the
// root's.
func (k *kamalImport) logging(v *kval, path string) (deploy.Logging, error) {
	var l deploy.Logging
	err := k.fields(v, path, func(key string, val *kval, p string) (bool, error) {
		var err error
		switch key {
		case "driver":
			l.Driver, err = k.str(val, p)
		case "options":
			l.Options, err = k.strMap(val, p)
		default:
			return false, nil
		}
		return true, err
	})
	return l, err
}

// named reports whether a secret name is set and not emptied by ssl.
func named(name *string) bool { return name != nil && *name != "" }

// secretName reads the name of a secret (a custom certificate's) and
// counts it among the secrets the config uses.
func (k *kamalImport) secretName(v *kval, path string) (*string, error) {
	name, err := k.str(v, path)
	if err != nil {
		return nil, err
	}
	k.secrets = append(k.secrets, name)
	return &name, nil
}

// proxyRun reads proxy.run, the settings kamal-proxy boots with.
func (k *kamalImport) proxyRun(s *kamalProxy, v *kval, path string) error {
	var registry, repository, version string
	err := k.fields(v, path, func(key string, val *kval, p string) (bool, error) {
		var err error
		switch key {
		case "http_port":
			var n int
			n, err = k.integer(val, p)
			s.httpPort = &n
		case "https_port":
			var n int
			n, err = k.integer(val, p)
			s.httpsPort = &n
		case "registry":
			registry, err = k.str(val, p)
		case "repository":
			repository, err = k.str(val, p)
		case "version":
			version, err = k.str(val, p)
		case "metrics_port":
			err = k.runOption(s, func(r *proxyRunOptions) (err error) { r.metricsPort, err = k.integer(val, p); return err })
		case "debug":
			err = k.runOption(s, func(r *proxyRunOptions) (err error) { r.debug, err = k.boolean(val, p); return err })
		case "log_max_size":
			err = k.runOption(s, func(r *proxyRunOptions) (err error) { r.logMaxSize, err = k.str(val, p); return err })
		case "bind_ips":
			err = k.runOption(s, func(r *proxyRunOptions) (err error) { r.bindIPs, err = k.strList(val, p, false); return err })
		case "publish", "options":
			k.unsupported(val, p, "kamal-proxy is booted with Slipway's settings; this one is not supported yet")
		default:
			return false, nil
		}
		return true, err
	})
	if err != nil || registry == "" && repository == "" && version == "" {
		return err
	}
	repo, tag, _ := strings.Cut(deploy.DefaultProxyImage, ":")
	repo = cmp.Or(repository, repo)
	if registry != "" {
		repo = registry + "/" + repo
	}
	img := repo + ":" + cmp.Or(version, tag)
	s.image = &img
	return nil
}

// proxyRunOptions are the settings of proxy.run that Slipway's Proxy
// has fields for (MetricsPort, Debug, LogMaxSize, BindIPs).
type proxyRunOptions struct {
	metricsPort int
	debug       bool
	logMaxSize  string
	bindIPs     []string
}

// runOption sets one proxy.run setting on s.
func (k *kamalImport) runOption(s *kamalProxy, set func(*proxyRunOptions) error) error {
	if s.run == nil {
		s.run = &proxyRunOptions{}
	} else {
		r := *s.run // a copy: an overlay's setting never changes the base's
		s.run = &r
	}
	return set(s.run)
}

// timeouts applies the top-level deploy_timeout and drain_timeout to
// every role behind the proxy, and stop_timeout to every role that sets
// none of its own. A role without the proxy stops as Kamal stops it:
// with stop_timeout, else drain_timeout, as docker stop's timeout.
func (k *kamalImport) timeouts(a *deploy.App, deployTimeout, drainTimeout, stopTimeout *kval) error {
	var stop, drain time.Duration
	var err error
	if stopTimeout != nil {
		if stop, err = k.seconds(stopTimeout, "stop_timeout"); err != nil {
			return err
		}
	}
	if drainTimeout != nil {
		if drain, err = k.seconds(drainTimeout, "drain_timeout"); err != nil {
			return err
		}
	}
	if deployTimeout != nil {
		d, err := k.seconds(deployTimeout, "deploy_timeout")
		if err != nil {
			return err
		}
		if !k.proxied {
			k.unsupported(deployTimeout, "deploy_timeout", "applies to roles behind the proxy, and no role is")
		}
		for name, r := range a.Roles {
			if r.Proxy != nil {
				r.Proxy.DeployTimeout = d
				a.Roles[name] = r
			}
		}
	}
	for name, r := range a.Roles {
		switch {
		case r.Proxy != nil && drainTimeout != nil:
			r.Proxy.DrainTimeout = drain
		case r.Proxy == nil && r.StopTimeout == 0 && stopTimeout == nil && drainTimeout != nil:
			r.StopTimeout = drain
		}
		if r.StopTimeout == 0 && stopTimeout != nil {
			r.StopTimeout = stop
		}
		a.Roles[name] = r
	}
	return nil
}

// readiness gates every role without the proxy with health.Running for
// readiness_delay: Kamal waits that long for such a container to keep
// running before the deploy goes on, as Slipway's gate then does.
func (k *kamalImport) readiness(a *deploy.App, v *kval) error {
	if v == nil {
		return nil
	}
	d, err := k.seconds(v, "readiness_delay")
	if err != nil {
		return err
	}
	gated := false
	for name, r := range a.Roles {
		if r.Proxy == nil && r.Health == nil {
			r.Health = health.Running{For: d}
			a.Roles[name] = r
			gated = true
		}
	}
	if !gated {
		k.unsupported(v, "readiness_delay", "applies to roles without the proxy, and every role is behind it")
	}
	return nil
}

// boot reads boot.limit (a count or "25%") and boot.wait.
func (k *kamalImport) boot(v *kval, path string) (deploy.Boot, error) {
	var b deploy.Boot
	err := k.fields(v, path, func(key string, val *kval, p string) (bool, error) {
		var err error
		switch key {
		case "limit":
			if pct, ok := strings.CutSuffix(strings.TrimSpace(val.text), "%"); ok && val.kind == yaml.ScalarNode {
				if b.LimitPercent, err = strconv.Atoi(strings.TrimSpace(pct)); err != nil {
					err = k.typeErr(val, p, `a number of hosts or a percentage such as "25%"`)
				}
			} else {
				b.Limit, err = k.integer(val, p)
			}
		case "wait":
			b.Wait, err = k.seconds(val, p)
		case "parallel_roles":
			k.unsupported(val, p, "Slipway boots a host's roles in its own order; this is not configurable")
		default:
			return false, nil
		}
		return true, err
	})
	return b, err
}

// applyTags gives each tagged host of a role the env of its tags, as
// Server.Env, merged in the order the host lists them over the role's
// and the app's env, as Kamal merges them for that host's containers.
func (k *kamalImport) applyTags(a *deploy.App) error {
	for _, th := range k.hostTags {
		r, ok := a.Roles[k.roleName(th.role)]
		if !ok {
			continue
		}
		i := slices.IndexFunc(r.Servers, func(s deploy.Server) bool { return s.Host == parseKamalHost(th.host).Host })
		if i < 0 {
			continue
		}
		env := &r.Servers[i].Env
		for _, tag := range th.tags {
			te, ok := k.envTags[tag]
			if !ok {
				continue // a tag for accessories, or for nothing
			}
			if len(te.Clear) > 0 && env.Clear == nil {
				env.Clear = map[string]string{}
			}
			maps.Copy(env.Clear, te.Clear)
			for _, s := range te.Secret {
				if !slices.Contains(env.Secret, s) {
					env.Secret = append(env.Secret, s)
				}
			}
		}
	}
	return nil
}

// accessories reads accessories.<name>.
func (k *kamalImport) accessories(v *kval, path string, a *deploy.App) (map[string]deploy.Accessory, error) {
	out := map[string]deploy.Accessory{}
	err := k.fields(v, path, func(name string, av *kval, p string) (bool, error) {
		acc, err := k.accessory(av, p, k.slipwayName("accessory", name), a)
		if err != nil {
			return true, err
		}
		out[k.roleName(name)] = acc
		return true, nil
	})
	return out, err
}

func (k *kamalImport) accessory(v *kval, path, name string, a *deploy.App) (deploy.Accessory, error) {
	var acc deploy.Accessory
	added := map[string]bool{}
	addHosts := func(hosts []string) {
		for _, h := range hosts {
			if host := parseKamalHost(h).Host; !added[host] {
				added[host] = true
				acc.Servers = append(acc.Servers, k.server(h))
			}
		}
	}
	err := k.fields(v, path, func(key string, val *kval, p string) (bool, error) {
		var err error
		switch key {
		case "image":
			acc.Image, err = k.str(val, p)
		case "host", "hosts":
			var hosts []string
			if hosts, err = k.strList(val, p, true); err == nil {
				addHosts(hosts)
			}
		case "role", "roles":
			var roles []string
			if roles, err = k.strList(val, p, true); err == nil {
				for _, r := range roles {
					acc.Roles = append(acc.Roles, k.roleName(r))
				}
			}
		case "tag", "tags":
			var tags []string
			if tags, err = k.strList(val, p, true); err == nil {
				want := map[string]bool{}
				for _, t := range tags {
					want[t] = true
				}
				var hosts []string
				tagged := map[string]bool{}
				for _, th := range k.hostTags {
					if !tagged[th.host] && slices.ContainsFunc(k.tags[th.host], func(t string) bool { return want[t] }) {
						tagged[th.host] = true
						hosts = append(hosts, th.host)
					}
				}
				if len(hosts) == 0 {
					k.unsupported(val, p, "no host carries these tags")
				}
				addHosts(hosts)
			}
		case "cmd":
			acc.Cmd, err = k.cmd(val, p)
		case "env":
			acc.Env, err = k.env(val, p, false)
		case "volumes":
			var vols []string
			if vols, err = k.volumes(val, p); err == nil {
				acc.Volumes = append(acc.Volumes, vols...)
			}
		case "port":
			var s string
			if s, err = k.str(val, p); err == nil {
				if !strings.Contains(s, ":") {
					s = s + ":" + s // as Kamal publishes a bare port
				}
				acc.Ports = append(acc.Ports, s)
			}
		case "ports":
			var ports []string
			if ports, err = k.strList(val, p, true); err == nil {
				acc.Ports = append(acc.Ports, ports...)
			}
		case "labels":
			acc.Labels, err = k.strMap(val, p)
		case "options":
			acc.Options, err = k.options(val, p)
		case "files":
			acc.Files, err = k.accessoryFiles(val, p)
		case "directories":
			var dirs []string
			if dirs, err = k.directories(val, p, a.Service, name); err == nil {
				acc.Volumes = append(acc.Volumes, dirs...)
			}
		case "service":
			k.unsupported(val, p, "accessory containers are named after the app and the accessory; a custom service name is not supported")
		case "network":
			k.unsupported(val, p, "accessories join App.Network with the app; a network of their own is not supported")
		case "registry":
			k.unsupported(val, p, "a registry login per accessory is not supported; log the hosts in yourself")
		case "proxy":
			k.unsupported(val, p, "accessories behind kamal-proxy are not supported; make it a role with a Proxy")
		default:
			return false, nil
		}
		return true, err
	})
	return acc, err
}

// secretsSource sets App.Secrets: the Kamal secrets files, then the
// environment, through the aliases.
func (k *kamalImport) secretsSource(a *deploy.App, cfg *kval) error {
	base := ".kamal/secrets"
	if v := cfg.get("secrets_path"); v != nil && !v.isNull() {
		base = v.text
	}
	if !filepath.IsAbs(base) {
		base = filepath.Join(k.root, base)
	}
	files := []string{base + "-common", base}
	if k.destination != "" {
		files[1] = base + "." + k.destination
	}
	sum, err := summarizeKamalSecrets(files)
	if err != nil {
		return err
	}
	k.report.SecretFiles = sum.read
	k.report.SecretNames = sum.names
	if len(sum.skipped) > 0 {
		k.note("secrets files: %s %s no NAME=value (shell lines); Kamal's dotenv skips them, and so does Slipway, which runs no shell", strings.Join(sum.skipped, ", "), plural(len(sum.skipped), "is", "are"))
	}
	// The source keeps absolute paths: it is read at deploy time, maybe
	// from another directory (a test in a package directory), and must
	// find the files this import read. The report keeps them as given.
	abs := make([]string, len(files))
	for i, f := range files {
		if abs[i], err = filepath.Abs(f); err != nil {
			return fmt.Errorf("read Kamal secrets: %w", err)
		}
	}
	var src secret.Source = secret.Chain{Secrets{Files: abs}, secret.Env{}}
	aliases := map[string]string{}
	for name, al := range k.aliases {
		if al.secret != name {
			aliases[name] = al.secret
		}
	}
	if len(aliases) > 0 {
		src = aliasedSecrets{src: src, aliases: aliases}
		for _, name := range slices.Sorted(maps.Keys(aliases)) {
			k.note("secret env %s takes the value of secret %s (%s)", name, aliases[name], k.aliases[name].path)
		}
	}
	a.Secrets = src
	used := slices.Clone(k.secrets)
	slices.Sort(used)
	used = slices.Compact(used)
	for _, name := range used {
		if _, ok := sum.commands[name]; ok {
			k.report.CommandSecrets = append(k.report.CommandSecrets, name)
		} else if !slices.Contains(sum.names, name) {
			k.report.EnvSecrets = append(k.report.EnvSecrets, name)
		}
	}
	return nil
}

// hooksNote lists Kamal hook scripts, which are not run.
func (k *kamalImport) hooksNote(cfg *kval) {
	dir := filepath.Join(k.root, ".kamal", "hooks")
	if v := cfg.get("hooks_path"); v != nil && v.kind == yaml.ScalarNode && v.text != "" {
		dir = v.text
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(k.root, dir)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var hooks []string
	for _, e := range entries {
		if !e.IsDir() && !strings.HasSuffix(e.Name(), ".sample") {
			hooks = append(hooks, e.Name())
		}
	}
	if len(hooks) > 0 {
		k.note("hook scripts in %s are not run: %s; port them to App.Hooks", dir, strings.Join(hooks, ", "))
	}
}

// accessoryFiles reads Kamal's accessory files ("local:remote", local
// paths relative to the project) into Accessory.Files, which Slipway
// copies into the container before it starts. ERB templates are not
// rendered, so they are reported instead.
func (k *kamalImport) accessoryFiles(v *kval, path string) (map[string]string, error) {
	list, err := k.strList(v, path, false)
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	for i, entry := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		local, remote, ok := strings.Cut(entry, ":")
		if !ok || local == "" || !strings.HasPrefix(remote, "/") {
			k.unsupported(v, p, fmt.Sprintf("want \"local/path:/absolute/path/in/container\", got %q", entry))
			continue
		}
		if strings.HasSuffix(local, ".erb") {
			k.unsupported(v, p, "ERB templates are not rendered; render the file yourself and list the result")
			continue
		}
		if !filepath.IsAbs(local) {
			local = filepath.Join(k.root, local)
		}
		b, err := os.ReadFile(local)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		files[remote] = string(b)
	}
	if len(files) == 0 {
		return nil, nil
	}
	return files, nil
}

// keyPath names key under the YAML path p: "p.key", or p["key"] for a
// key that is not a plain word.
func keyPath(p, key string) string {
	switch {
	case !plainKeyRe.MatchString(key):
		return p + "[" + strconv.Quote(key) + "]"
	case p == "":
		return key
	}
	return p + "." + key
}

// plainKeyRe is a key keyPath writes after a dot.
var plainKeyRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// indexPath names a list item: p[i].
func indexPath(p string, i int) string { return p + "[" + strconv.Itoa(i) + "]" }
