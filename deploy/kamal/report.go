package kamal

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Report says what Load could not carry over from a Kamal
// config, and how it translated the rest. It holds secret names, never
// secret values.
type Report struct {
	// Files are the config files read, base first.
	Files []string
	// Destinations are the destinations imported with the base, sorted
	// (LoadAll); none for Load.
	Destinations []string
	// Unsupported lists every key not carried over, in the order of the
	// files, each with why and what to do instead.
	Unsupported []Key
	// NotNeeded lists what Slipway needs no equivalent of: Kamal CLI
	// aliases (write Mage targets) and ERB statements, which set Ruby
	// state while Kamal reads the file.
	NotNeeded []Key
	// Notes say how values were translated where the meaning shifts a
	// little (a renamed service, a dropped image tag, ...).
	Notes []string
	// SecretFiles are the secrets files that exist, in the order read.
	SecretFiles []string
	// SecretNames are the names the secrets files set, sorted.
	SecretNames []string
	// CommandSecrets are the names the secrets files set with a
	// "$(command)", which Slipway never runs: set them in the environment
	// or give App.Secrets a secret.Command source.
	CommandSecrets []string
	// EnvSecrets are the secret names the config uses that no secrets
	// file sets; they are read from the environment.
	EnvSecrets []string
	// EnvRead are the environment variables the config's ERB reads
	// (ENV["X"], ENV.fetch("X") ...), sorted; their values are part of
	// the App and never part of the report.
	EnvRead []string
	// EnvMissing are the names of EnvRead that were not set and had no
	// default: the values that hold them are empty.
	EnvMissing []string
}

// Key is one key of a Kamal config that Slipway does not carry over, or
// does not need.
type Key struct {
	// Path is the key's YAML path, such as "builder.cache" or
	// "servers.web.hosts[1]".
	Path string
	// File and Line locate the key.
	File string
	Line int
	// Reason says why it is not supported and what to do instead.
	Reason string
}

// String returns "path (file:line): reason".
func (k Key) String() string {
	return fmt.Sprintf("%s (%s:%d): %s", k.Path, k.File, k.Line, k.Reason)
}

// Paths returns the paths of the unsupported keys.
func (r *Report) Paths() []string {
	p := make([]string, len(r.Unsupported))
	for i, k := range r.Unsupported {
		p[i] = k.Path
	}
	return p
}

// String prints the report for a person: the unsupported keys, one per
// line, then the notes and the secrets (names only).
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Kamal import of %s\n", strings.Join(r.Files, " + "))
	if len(r.Destinations) > 0 {
		fmt.Fprintf(&b, "destinations: %s\n", strings.Join(r.Destinations, ", "))
	}
	if len(r.Unsupported) == 0 {
		b.WriteString("every key is carried over\n")
	} else {
		fmt.Fprintf(&b, "%d %s not carried over:\n", len(r.Unsupported), plural(len(r.Unsupported), "key", "keys"))
		for _, k := range r.Unsupported {
			fmt.Fprintf(&b, "  %s\n", k)
		}
	}
	if len(r.NotNeeded) > 0 {
		fmt.Fprintf(&b, "%d not needed in Slipway:\n", len(r.NotNeeded))
		for _, k := range r.NotNeeded {
			fmt.Fprintf(&b, "  %s\n", k)
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("notes:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	switch {
	case len(r.SecretFiles) == 0:
		b.WriteString("secrets: no secrets file; every secret is read from the environment\n")
	case len(r.SecretNames) == 0:
		fmt.Fprintf(&b, "secrets: none set in %s\n", strings.Join(r.SecretFiles, ", "))
	default:
		fmt.Fprintf(&b, "secrets: %s from %s\n", strings.Join(r.SecretNames, " "), strings.Join(r.SecretFiles, ", "))
	}
	if len(r.CommandSecrets) > 0 {
		fmt.Fprintf(&b, "  set by commands Slipway does not run (export them or add a secret.Command source): %s\n", strings.Join(r.CommandSecrets, " "))
	}
	if len(r.EnvSecrets) > 0 {
		fmt.Fprintf(&b, "  in no secrets file, read from the environment: %s\n", strings.Join(r.EnvSecrets, " "))
	}
	if len(r.EnvRead) > 0 {
		fmt.Fprintf(&b, "ERB read the environment: %s\n", strings.Join(r.EnvRead, " "))
	}
	if len(r.EnvMissing) > 0 {
		fmt.Fprintf(&b, "  not set, so their values are empty: %s\n", strings.Join(r.EnvMissing, " "))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Error is a Kamal config Load cannot read: malformed YAML, a value of
// the wrong type, or a file over one of the limits (MaxFileSize,
// MaxNodes, MaxValues, MaxDepth).
type Error struct {
	// File and Line locate the problem.
	File string
	Line int
	// Path is the key's YAML path; "" for a syntax error.
	Path string
	// Message says what is wrong, never quoting a secret.
	Message string
}

// Error returns "file:line: path: message".
func (e *Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Path == "" {
		return where + ": " + e.Message
	}
	return where + ": " + e.Path + ": " + e.Message
}

// EnvError is an imported App that is not valid while environment
// variables its ERB reads are not set: the fields they fill are empty.
// It unwraps to the App's *deploy.ValidationError.
type EnvError struct {
	// Names are the variables read and not set, sorted.
	Names []string
	// Err is the App's validation error.
	Err error
}

// Error names the variables, then the App's problems.
func (e *EnvError) Error() string {
	return fmt.Sprintf("ERB in the config reads ENV %s, not set here, so the fields that take %s are empty: set %s and import again\n%v",
		strings.Join(e.Names, ", "), plural(len(e.Names), "it", "them"), plural(len(e.Names), "it", "them"), e.Err)
}

// Unwrap returns the validation error.
func (e *EnvError) Unwrap() error { return e.Err }

// addERB records what rendering file's ERB learnt: names, lines, never
// values.
func (r *Report) addERB(file string, res erbResult) {
	r.EnvRead = envNames(append(r.EnvRead, res.read...))
	r.EnvMissing = envNames(append(r.EnvMissing, res.missing...))
	for _, line := range res.statements {
		r.NotNeeded = append(r.NotNeeded, Key{Path: "<% %>", File: file, Line: line,
			Reason: "an ERB statement runs Ruby while Kamal reads the file; Slipway runs none: set what it loads (a dotenv file, say) in the environment, or write it in Go"})
	}
	if res.whole {
		line := 1
		if len(res.exprs) > 0 {
			line = res.exprs[len(res.exprs)-1].line
		}
		r.Unsupported = append(r.Unsupported, Key{Path: "(the whole file)", File: file, Line: line,
			Reason: "the file is the output of an ERB expression Slipway does not evaluate (another file rendered, say), so nothing in it is imported: write its keys out"})
	}
	for _, b := range res.blocks {
		r.Unsupported = append(r.Unsupported, Key{Path: "<% " + b.word + " %>", File: file, Line: b.line,
			Reason: "an ERB block is not run; it is " + b.kind + "; check that is what you deploy, and write it out"})
	}
}

// merge adds what another import of the same project found (a
// destination's), each key and note once.
func (r *Report) merge(o *Report) {
	for _, f := range o.Files {
		if !slices.Contains(r.Files, f) {
			r.Files = append(r.Files, f)
		}
	}
	for _, k := range o.Unsupported {
		if !slices.Contains(r.Unsupported, k) {
			r.Unsupported = append(r.Unsupported, k)
		}
	}
	for _, k := range o.NotNeeded {
		if !slices.Contains(r.NotNeeded, k) {
			r.NotNeeded = append(r.NotNeeded, k)
		}
	}
	for _, n := range o.Notes {
		if !slices.Contains(r.Notes, n) {
			r.Notes = append(r.Notes, n)
		}
	}
	for _, f := range o.SecretFiles {
		if !slices.Contains(r.SecretFiles, f) {
			r.SecretFiles = append(r.SecretFiles, f)
		}
	}
	r.SecretNames = envNames(append(r.SecretNames, o.SecretNames...))
	r.CommandSecrets = envNames(append(r.CommandSecrets, o.CommandSecrets...))
	r.EnvSecrets = envNames(append(r.EnvSecrets, o.EnvSecrets...))
	r.EnvRead = envNames(append(r.EnvRead, o.EnvRead...))
	r.EnvMissing = envNames(append(r.EnvMissing, o.EnvMissing...))
}

// sortKeys puts the keys in file order, whichever part of the import
// found them.
func (r *Report) sortKeys() {
	byFile := func(x, y Key) int {
		if d := slices.Index(r.Files, x.File) - slices.Index(r.Files, y.File); d != 0 {
			return d
		}
		return x.Line - y.Line
	}
	slices.SortStableFunc(r.Unsupported, byFile)
	slices.SortStableFunc(r.NotNeeded, byFile)
}

// envError wraps a validation error in an *EnvError when environment
// variables the ERB reads were not set.
func (r *Report) envError(err error) error {
	if err == nil || len(r.EnvMissing) == 0 {
		return err
	}
	return &EnvError{Names: r.EnvMissing, Err: err}
}
