package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/replicate"
)

// ErrSecretMissing means a source does not have a secret. Errors that
// wrap it name the secret and where it was looked for, never a value.
var ErrSecretMissing = errors.New("secret missing")

// DefaultSecretsFile is the FileSecrets path used when Path is empty. It
// holds secret values, so it must stay out of git (list it in .gitignore).
const DefaultSecretsFile = ".slipway/secrets"

// Redacted replaces every secret value in output.
const Redacted = "[redacted]"

// missingSecretError is what the sources here return for a name they do
// not have: where says where they looked.
type missingSecretError struct {
	name, where string
}

func (e *missingSecretError) Error() string {
	return "secret " + e.name + " missing: " + e.where
}

func (e *missingSecretError) Is(target error) bool { return target == ErrSecretMissing }

// missingReason says where a missing secret was looked for.
func missingReason(err error) string {
	if m, ok := errors.AsType[*missingSecretError](err); ok {
		return m.where
	}
	return err.Error()
}

// EnvSecrets reads secrets from the process environment. A variable that
// is set but empty counts as present, with an empty value.
type EnvSecrets struct{}

var _ SecretSource = EnvSecrets{}

// Secret returns the value of the environment variable name.
func (EnvSecrets) Secret(_ context.Context, name string) (string, error) {
	if v, ok := os.LookupEnv(name); ok {
		return v, nil
	}
	return "", &missingSecretError{name, "not set in the environment"}
}

// String returns "the environment".
func (EnvSecrets) String() string { return "the environment" }

// FileSecrets reads secrets from a dotenv-style file kept out of git:
//
//	# comments and blank lines are skipped
//	SECRET_KEY_BASE=abc123
//	export LITESTREAM_SECRET_ACCESS_KEY="value with spaces, \"escapes\" and\nnewlines"
//	LITERAL='single quotes keep $everything as written'
//
// Double-quoted values understand \n, \r, \t, \" and \\ and, like
// single-quoted ones, may span lines (for PEM keys). An unquoted value
// ends at a " #" comment and has its surrounding spaces trimmed. The file
// is read at every lookup; no variable is expanded and no command is run.
type FileSecrets struct {
	// Path is the file; "" means DefaultSecretsFile, relative to the
	// working directory.
	Path string
}

var _ SecretSource = FileSecrets{}

func (f FileSecrets) path() string {
	if f.Path == "" {
		return DefaultSecretsFile
	}
	return f.Path
}

// String returns "secrets file <path>".
func (f FileSecrets) String() string { return "secrets file " + f.path() }

// Secret returns the value of name in the file. A missing file means
// every secret is missing; a malformed file is an error naming the line,
// never its content.
func (f FileSecrets) Secret(_ context.Context, name string) (string, error) {
	p := f.path()
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", &missingSecretError{name, fmt.Sprintf(
			"secrets file %s does not exist; create it with a line %s=... and keep it out of git", p, name)}
	}
	if err != nil {
		return "", fmt.Errorf("read secrets file %s: %w", p, err)
	}
	values, err := parseSecretsFile(string(data))
	if err != nil {
		return "", fmt.Errorf("read secrets file %s: %w", p, err)
	}
	v, ok := values[name]
	if !ok {
		return "", &missingSecretError{name, "not in " + p}
	}
	return v, nil
}

// parseSecretsFile reads dotenv-style text. Its errors name lines, never
// their content, which may hold a secret.
func parseSecretsFile(text string) (map[string]string, error) {
	values := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimLeft(lines[i], " \t")
		if strings.TrimSpace(line) == "" || line[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			line = strings.TrimLeft(rest, " \t")
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: expected NAME=value", n)
		}
		key = strings.TrimRight(key, " \t")
		if !envNameRe.MatchString(key) {
			return nil, fmt.Errorf("line %d: the name before \"=\" must be letters, digits and \"_\", not starting with a digit", n)
		}
		val = strings.TrimLeft(val, " \t")
		if val == "" || val[0] != '"' && val[0] != '\'' {
			if j := commentStart(val); j >= 0 {
				val = val[:j]
			}
			val = strings.TrimSpace(val)
			if strings.HasPrefix(val, "$(") || strings.HasPrefix(val, "`") {
				return nil, fmt.Errorf("line %d: command substitution is not supported; use CommandSecrets for a password manager", n)
			}
			values[key] = val
			continue
		}
		// A quoted value, which may continue over the following lines.
		quote := val[0]
		body := val[1:]
		var b strings.Builder
		for {
			end := unquote(&b, body, quote)
			if end >= 0 {
				if after := strings.TrimSpace(body[end+1:]); after != "" && after[0] != '#' {
					return nil, fmt.Errorf("line %d: unexpected text after the closing quote", i+1)
				}
				break
			}
			b.WriteByte('\n')
			if i++; i >= len(lines) {
				return nil, fmt.Errorf("line %d: the quoted value has no closing quote", n)
			}
			body = lines[i]
		}
		values[key] = b.String()
	}
	return values, nil
}

// commentStart returns where a " #" comment starts in an unquoted value, or -1.
func commentStart(s string) int {
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			return i - 1
		}
	}
	return -1
}

// unquote writes s to b up to the closing quote and returns the quote's
// index, or -1 when s has none. Inside double quotes it reads escapes.
func unquote(b *strings.Builder, s string, quote byte) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == quote:
			return i
		case quote == '"' && c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '"', '\\':
				b.WriteByte(s[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return -1
}

// secretNamePlaceholder is replaced by the secret's name in a
// CommandSecrets argument.
const secretNamePlaceholder = "{name}"

// CommandSecrets runs a command for each secret, such as a password
// manager's CLI, and takes its standard output as the value, with one
// trailing newline trimmed:
//
//	deploy.CommandSecrets{Command: []string{"op", "read", "op://production/hello/{name}"}}
//
// Every "{name}" in the arguments is replaced by the secret's name. The
// command gets no standard input. Its standard output is never shown;
// its standard error goes to Stderr and, when it fails, the end of it is
// quoted in the error. A command that exits with a non-zero status means
// the secret is missing.
type CommandSecrets struct {
	// Command is the program and its arguments; at least one argument
	// must hold "{name}".
	Command []string
	// Stderr, when set, receives the command's standard error as it runs.
	Stderr io.Writer
}

var _ SecretSource = CommandSecrets{}

// String returns "command <command>".
func (c CommandSecrets) String() string { return "command " + quoteArgs(c.Command) }

// stderrExcerpt is how much of a failing command's stderr an error quotes.
const stderrExcerpt = 512

// Secret runs the command for name and returns its output.
func (c CommandSecrets) Secret(ctx context.Context, name string) (string, error) {
	if len(c.Command) == 0 {
		return "", errors.New("command secrets: Command is empty; set the program and its arguments")
	}
	args := make([]string, len(c.Command))
	named := false
	for i, a := range c.Command {
		args[i] = strings.ReplaceAll(a, secretNamePlaceholder, name)
		named = named || args[i] != a
	}
	if !named {
		return "", fmt.Errorf("command secrets: no argument of %s holds %q, so every secret would get the same value", quoteArgs(c.Command), secretNamePlaceholder)
	}
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: stderrExcerpt}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	if c.Stderr != nil {
		cmd.Stderr = io.MultiWriter(stderr, c.Stderr)
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		return "", fmt.Errorf("secret %s: %s: %w", name, quoteArgs(args), ctx.Err())
	}
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		where := fmt.Sprintf("%s exited with status %d", quoteArgs(args), ee.ExitCode())
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			where += ": " + strings.Join(strings.Fields(msg), " ")
		}
		return "", &missingSecretError{name, where}
	}
	if err != nil {
		return "", fmt.Errorf("secret %s: run %s: %w", name, quoteArgs(args), err)
	}
	v := stdout.String()
	if s, ok := strings.CutSuffix(v, "\n"); ok {
		v = strings.TrimSuffix(s, "\r")
	}
	return v, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// Chain returns a source that asks each source in turn and takes the
// first value found. A source that fails for any reason but a missing
// secret stops the search, so that a broken source never silently yields
// to a later one.
func Chain(sources ...SecretSource) SecretSource {
	return chain(slices.DeleteFunc(slices.Clone(sources), func(s SecretSource) bool { return s == nil }))
}

type chain []SecretSource

func (c chain) Secret(ctx context.Context, name string) (string, error) {
	var where []string
	for _, s := range c {
		v, err := s.Secret(ctx, name)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, ErrSecretMissing) {
			return "", err
		}
		where = append(where, missingReason(err))
	}
	if len(where) == 0 {
		return "", &missingSecretError{name, "the chain has no sources"}
	}
	return "", &missingSecretError{name, strings.Join(where, "; ")}
}

// MissingSecretsError lists every secret ResolveSecrets could not find.
// It matches ErrSecretMissing with errors.Is.
type MissingSecretsError struct {
	// Names are the missing secrets, sorted.
	Names []string
	// Reasons[i] says where Names[i] was looked for.
	Reasons []string
}

// Error names every missing secret, then says for each where it was
// looked for, one per line.
func (e *MissingSecretsError) Error() string {
	var b strings.Builder
	word := "secrets"
	if len(e.Names) == 1 {
		word = "secret"
	}
	fmt.Fprintf(&b, "%d %s missing: %s", len(e.Names), word, strings.Join(e.Names, ", "))
	for i, n := range e.Names {
		if i < len(e.Reasons) {
			fmt.Fprintf(&b, "\n  %s: %s", n, e.Reasons[i])
		}
	}
	return b.String()
}

// Is reports whether target is ErrSecretMissing.
func (e *MissingSecretsError) Is(target error) bool { return target == ErrSecretMissing }

// Secrets holds resolved secret values by name. Print it freely: its
// String and GoString show names only.
type Secrets map[string]string

// String lists the names, never the values.
func (s Secrets) String() string { return "secrets[" + strings.Join(sortedKeys(s), " ") + "]" }

// GoString lists the names, never the values.
func (s Secrets) GoString() string { return "deploy.Secrets" + s.String() }

// ResolveSecrets resolves every secret the App's containers need: the
// names in App.Env and in every role's Env (the migration uses its role's
// env). It asks App.Secrets, or EnvSecrets when that is nil, once per
// name, in name order. When any are missing the error is a
// *MissingSecretsError naming all of them; no error carries a value.
func ResolveSecrets(ctx context.Context, a App) (Secrets, error) {
	src := a.Secrets
	if src == nil {
		src = EnvSecrets{}
	}
	values := Secrets{}
	missing := &MissingSecretsError{}
	var failed []error
	for _, name := range secretNames(a) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("resolve secrets: %w", err)
		}
		v, err := src.Secret(ctx, name)
		switch {
		case err == nil:
			values[name] = v
		case errors.Is(err, ErrSecretMissing):
			missing.Names = append(missing.Names, name)
			missing.Reasons = append(missing.Reasons, missingReason(err))
		default:
			failed = append(failed, err)
		}
	}
	if len(missing.Names) > 0 {
		failed = append([]error{missing}, failed...)
	}
	if len(failed) > 0 {
		// A source's own error might quote a value found for another name.
		err := errors.Join(failed...)
		return nil, &redactedError{err: err, msg: values.Redact(err.Error())}
	}
	return values, nil
}

// secretNames lists every secret name the App uses, sorted, once each.
func secretNames(a App) []string {
	names := slices.Clone(a.Env.Secret)
	for _, r := range a.Roles {
		names = append(names, r.Env.Secret...)
	}
	for _, acc := range a.Accessories {
		names = append(names, acc.Env.Secret...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return slices.DeleteFunc(names, func(n string) bool { return n == "" })
}

// redactedError shows a redacted message for an error it still wraps.
type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// minLineToken is the shortest line of a multi-line secret that is
// redacted on its own: output that passes line by line never holds the
// whole value, and shorter lines ("{", "}") say nothing secret.
const minLineToken = 8

// tokens returns the strings to redact: every non-empty value, and every
// line of at least minLineToken characters of a multi-line value, each
// also in the escaped forms text shows it in when it was quoted for Go
// (%q, strconv.Quote) or JSON: a value holding `"` or `\` is not itself
// in its quoted form, and output quotes text that has a secret in it.
func (s Secrets) tokens() []string {
	var t []string
	for _, v := range s {
		if v == "" {
			continue
		}
		t = append(t, escapedForms(v)...)
		if strings.ContainsAny(v, "\r\n") {
			for l := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == '\r' || r == '\n' }) {
				if l = strings.TrimSpace(l); len(l) >= minLineToken {
					t = append(t, escapedForms(l)...)
				}
			}
		}
	}
	slices.Sort(t)
	return slices.Compact(t)
}

// escapedForms returns v, and v as it reads inside a Go-quoted and a
// JSON string (with and without HTML escaping) when that differs.
func escapedForms(v string) []string {
	forms := []string{v, strings.Trim(strconv.Quote(v), `"`), strings.Trim(strconv.QuoteToASCII(v), `"`)}
	for _, html := range []bool{true, false} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if enc.Encode(v) == nil {
			forms = append(forms, strings.Trim(strings.TrimSuffix(b.String(), "\n"), `"`))
		}
	}
	return forms
}

// Redact returns text with every secret value replaced by "[redacted]".
// Overlapping and adjacent values become one "[redacted]", so no part of
// any value is left. Each line of a multi-line value is also redacted on
// its own when it has at least 8 characters.
func (s Secrets) Redact(text string) string {
	if len(s) == 0 || text == "" {
		return text
	}
	return string(redactBytes([]byte(text), s.tokens()))
}

// redactBytes replaces every run of b covered by an occurrence of a token.
func redactBytes(b []byte, tokens []string) []byte {
	spans := secretSpans(b, tokens)
	if len(spans) == 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	last := 0
	for _, sp := range spans {
		out = append(out, b[last:sp[0]]...)
		out = append(out, Redacted...)
		last = sp[1]
	}
	return append(out, b[last:]...)
}

// secretSpans returns the merged [start, end) runs of b covered by
// occurrences of tokens, in order.
func secretSpans(b []byte, tokens []string) [][2]int {
	var spans [][2]int
	for _, t := range tokens {
		for i := 0; i < len(b); {
			j := bytes.Index(b[i:], []byte(t))
			if j < 0 {
				break
			}
			spans = append(spans, [2]int{i + j, i + j + len(t)})
			i += j + 1
		}
	}
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(x, y [2]int) int { return x[0] - y[0] })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		if last := &merged[len(merged)-1]; sp[0] <= last[1] {
			last[1] = max(last[1], sp[1])
		} else {
			merged = append(merged, sp)
		}
	}
	return merged
}

// maxPending is how much output without a line end the redacting writer
// holds before it passes on what it safely can.
const maxPending = 64 << 10

// Writer returns a writer that passes what is written to w with every
// secret value redacted. It holds output back until a line ends ("\n" or
// "\r"), so that a value split across two writes is still caught, and
// passes a long line on in pieces that cannot cut a value in two. Close
// passes on the last, unfinished line; it does not close w. The writer is
// safe for concurrent use.
//
// A multi-line value is caught whole when its lines reach the writer
// before one of them ends a write; otherwise each of its lines is
// redacted on its own (see Redact).
func (s Secrets) Writer(w io.Writer) io.WriteCloser {
	rw := &redactWriter{w: w, tokens: s.tokens()}
	for _, t := range rw.tokens {
		rw.longest = max(rw.longest, len(t))
	}
	return rw
}

type redactWriter struct {
	mu      sync.Mutex
	w       io.Writer
	tokens  []string
	longest int
	pending []byte
}

func (rw *redactWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.tokens) == 0 {
		return rw.w.Write(p)
	}
	// Only p can hold a new line end; searching it alone keeps long lines
	// written in small pieces linear.
	cut := 0
	if i := bytes.LastIndexAny(p, "\r\n"); i >= 0 {
		cut = len(rw.pending) + i + 1
	}
	rw.pending = append(rw.pending, p...)
	if cut > 0 {
		if err := rw.pass(cut); err != nil {
			return 0, err
		}
	}
	if len(rw.pending) > maxPending {
		if err := rw.pass(rw.safeCut()); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// safeCut returns how much of pending can pass without cutting a value
// in two: everything but the last longest-1 bytes, moved past any value
// that straddles that point.
func (rw *redactWriter) safeCut() int {
	cut := len(rw.pending) - (rw.longest - 1)
	if cut <= 0 {
		return 0
	}
	for _, sp := range secretSpans(rw.pending, rw.tokens) {
		if sp[0] < cut && cut < sp[1] {
			cut = sp[1]
		}
	}
	return cut
}

// pass writes pending[:n], redacted, and keeps the rest.
func (rw *redactWriter) pass(n int) error {
	if n == 0 {
		return nil
	}
	_, err := rw.w.Write(redactBytes(rw.pending[:n], rw.tokens))
	rw.pending = rw.pending[:copy(rw.pending, rw.pending[n:])]
	return err
}

// Close passes on whatever is held back. It does not close the
// underlying writer.
func (rw *redactWriter) Close() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.pending) == 0 {
		return nil
	}
	return rw.pass(len(rw.pending))
}

// Redact returns text with every secret value the session has resolved
// replaced by "[redacted]": the app's, its accessories', the registry
// password and replicas' credentials, as far as the session has needed
// them. Use it for anything built from what the session returned that a
// person or a log will read.
func (s *Session) Redact(text string) string { return s.out.secrets().Redact(text) }

// redactErr makes *err, when it is not nil, an error whose message is
// redacted with the session's redaction set when it is read, and which
// still unwraps to the original for errors.Is and errors.As. Every
// exported method of Session defers it, so no error leaves a session
// unredacted, whatever made it: a container's last log lines in a failed
// boot or migration, a hook's error, the engine's or a replica's words.
// Redacting at that edge rather than where each piece of text is captured
// covers the paths no one has thought of yet; what is clipped or quoted
// before it gets there (a gate's report, its body excerpts) is redacted
// where it is captured as well (healthHost, diagnose).
func (s *Session) redactErr(err *error) {
	if *err == nil {
		return
	}
	if _, ok := (*err).(*sessionError); ok {
		return
	}
	*err = &sessionError{err: *err, out: s.out}
}

// sessionError is an error that left a Session: its message is redacted
// with the session's redaction set as it is read, so a value resolved
// after the error was made is hidden as well.
type sessionError struct {
	err error
	out *printer
}

func (e *sessionError) Error() string { return e.out.secrets().Redact(e.err.Error()) }
func (e *sessionError) Unwrap() error { return e.err }

// secret resolves name from src (EnvSecrets when nil) and adds the value
// to the session's redaction set: every secret a session resolves goes
// through here or through resolveSecrets.
func (s *Session) secret(ctx context.Context, src SecretSource, name string) (string, error) {
	if src == nil {
		src = EnvSecrets{}
	}
	v, err := src.Secret(ctx, name)
	if err != nil {
		return "", err
	}
	s.out.redact(Secrets{name: v})
	return v, nil
}

// learnReplica adds a replica's credentials to the session's redaction
// set before something else (Litestream's S3 client) resolves them out of
// the session's sight. A credential that cannot be resolved is left to
// that resolver to report, by name.
func (s *Session) learnReplica(ctx context.Context, r replicate.Replica) {
	var src SecretSource = EnvSecrets{}
	if r.S3 != nil && r.S3.Secrets != nil {
		src = r.S3.Secrets
	}
	for _, n := range r.SecretNames() {
		s.secret(ctx, src, n)
	}
}

// learnSecrets resolves the app's secrets, as a deploy does, and adds
// them and the replicas' credentials to the session's redaction set, for
// operations that read what the app's containers say (logs, a recovery's
// gate) without starting any.
func (s *Session) learnSecrets(ctx context.Context, replicas ...replicate.Replica) error {
	if _, err := s.resolveSecrets(ctx); err != nil {
		return fmt.Errorf("resolve the app's secrets, to redact them: %w", err)
	}
	for _, r := range replicas {
		s.learnReplica(ctx, r)
	}
	return nil
}

// healthHost is how the session's gates reach containers on h. Gate
// tries redact what they capture (a body, a command's output) with the
// session's redaction set before it is cut to an excerpt or quoted, so a
// secret straddling the cut or holding a quote is still caught whole.
func (s *Session) healthHost(h *hostConn, network string) health.Host {
	return health.Host{Name: h.name, Inspector: h.engine, Dialer: h.ssh, Execer: h.engine,
		Network: network, Redactor: s.out.secrets()}
}

// diagnose explains a container that failed its gate, with every log
// line and error redacted whole, before the report clips lines to the
// screen's width.
func (s *Session) diagnose(ctx context.Context, h *hostConn, container string) health.Diagnostics {
	return health.Diagnose(ctx, h.engine, h.engine, container).Redact(s.out.secrets())
}
