package kamal

import (
	"fmt"
	"strconv"
	"strings"
)

// Report says what Load could not carry over from a Kamal
// config, and how it translated the rest. It holds secret names, never
// secret values.
type Report struct {
	// Files are the config files read, base first.
	Files []string
	// Unsupported lists every key Slipway does not support, in the order
	// of the files, each with why and what to do instead.
	Unsupported []Key
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
}

// Key is one key of a Kamal config that Slipway does not support.
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
	if len(r.Unsupported) == 0 {
		b.WriteString("every key is supported\n")
	} else {
		fmt.Fprintf(&b, "%d %s not supported:\n", len(r.Unsupported), plural(len(r.Unsupported), "key", "keys"))
		for _, k := range r.Unsupported {
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
