package kamal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/secret"
)

// Secrets reads secrets from Kamal's dotenv files, such as
// .kamal/secrets-common and .kamal/secrets.staging, where a later file
// overrides an earlier one as in Kamal. A line may be
//
//	NAME=literal
//	NAME='single quotes keep $everything'
//	NAME=$OTHER or NAME="postgres://app:${DB_PASSWORD}@db/app"
//	NAME=$(op read op://vault/item/field)
//
// A "$OTHER" or "${OTHER}" reference is resolved from the names set
// earlier in the files, then from the environment; an unset one makes the
// secret missing rather than empty. A "$(...)" or backquoted command is
// never run: its name is missing here, so that a later source in a
// secret.Chain (secret.Env, or a secret.Command running the password
// manager) can supply it. The files are read with secret.ParseDotenv at
// every lookup and no value is kept.
type Secrets struct {
	// Files are the secrets files in the order Kamal reads them; a file
	// that does not exist is skipped. A relative path resolves against
	// the project root (secret.ProjectRoot), as a secret.File's does;
	// Load stores absolute paths.
	Files []string
}

var _ secret.Source = Secrets{}

// String returns "Kamal secrets files <files>".
func (k Secrets) String() string { return "Kamal secrets files " + strings.Join(k.Files, ", ") }

// Secret returns the value of name from the last file that sets it.
func (k Secrets) Secret(_ context.Context, name string) (string, error) {
	files := make([]string, len(k.Files))
	for i, f := range k.Files {
		files[i] = secret.ProjectPath(f)
	}
	entries, read, _, err := readKamalSecrets(files)
	if err != nil {
		return "", err
	}
	if len(read) == 0 {
		return "", &secret.MissingError{Name: name, Where: "no Kamal secrets file exists (" + strings.Join(files, ", ") + ")"}
	}
	values := map[string]string{}
	why := map[string]string{}
	budget := maxSecretsResolved
	for _, e := range entries {
		v, reason := e.resolve(values, why, &budget)
		if reason != "" {
			delete(values, e.name)
			why[e.name] = reason
			continue
		}
		delete(why, e.name)
		values[e.name] = v
	}
	if v, ok := values[name]; ok {
		return v, nil
	}
	if reason, ok := why[name]; ok {
		return "", &secret.MissingError{Name: name, Where: reason}
	}
	return "", &secret.MissingError{Name: name, Where: "not in " + strings.Join(read, ", ")}
}

// MaxSecretSize bounds a secret's value once its $NAME references
// are resolved, so that NAME2=$NAME1$NAME1, NAME3=$NAME2$NAME2, ... fails
// instead of doubling into gigabytes.
const MaxSecretSize = 64 << 10

// maxSecretsResolved bounds the values of all the secrets files
// together, resolved, as each lookup resolves every line.
const maxSecretsResolved = 4 << 20

// kamalSecretKind says how a line of a Kamal secrets file gives its value.
type kamalSecretKind int

const (
	kamalSecretValue   kamalSecretKind = iota // a value, perhaps with $VAR references
	kamalSecretLiteral                        // a single-quoted value, taken as written
	kamalSecretCommand                        // a $(...) or `...` command, never run
)

// kamalSecret is one NAME=... line of a Kamal secrets file.
type kamalSecret struct {
	name string
	kind kamalSecretKind
	text string // the value, unquoted; "" for a command
	file string
	line int
}

// varRefRe matches $NAME and ${NAME}.
var varRefRe = regexp.MustCompile(`\\?\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

// resolve returns the entry's value, or why it has none, given the
// values set before it and why the others have none. budget is what the
// values may still add up to. Reasons name files, lines and variables,
// never values.
func (e kamalSecret) resolve(earlier, why map[string]string, budget *int) (string, string) {
	where := fmt.Sprintf("%s:%d", e.file, e.line)
	switch e.kind {
	case kamalSecretCommand:
		return "", fmt.Sprintf("set by a command at %s, which Slipway does not run; export %s or add a secret.Command source", where, e.name)
	case kamalSecretLiteral:
		return e.text, ""
	}
	var unset []string
	failed := ""
	size := len(e.text)
	v := varRefRe.ReplaceAllStringFunc(e.text, func(ref string) string {
		if strings.HasPrefix(ref, `\`) {
			return ref[1:]
		}
		m := varRefRe.FindStringSubmatch(ref)
		ref = m[1] + m[2]
		val, ok := earlier[ref]
		if !ok {
			val, ok = os.LookupEnv(ref)
		}
		if reason, bad := why[ref]; !ok && bad && failed == "" {
			// The first cause, not a chain of "reads $X" back to it.
			failed = reason
			if !strings.Contains(reason, " reads $") {
				failed = fmt.Sprintf("%s reads $%s, which has no value: %s", where, ref, reason)
			}
		}
		if !ok {
			unset = append(unset, ref)
			return ""
		}
		if size += len(val); size > MaxSecretSize || size > *budget {
			return "" // reported below, before the value is built
		}
		return val
	})
	switch {
	case failed != "":
		return "", failed
	case size > MaxSecretSize:
		return "", fmt.Sprintf("%s expands to more than %d bytes (MaxSecretSize) through its $ references; a secret is a line: check the references", where, MaxSecretSize)
	case size > *budget:
		*budget = 0
		return "", fmt.Sprintf("%s: the secrets files expand to more than %d bytes through their $ references; a secret is a line: check the references", where, maxSecretsResolved)
	}
	*budget -= len(v)
	if len(unset) > 0 {
		return "", fmt.Sprintf("%s reads $%s, which is not set in the environment", where, strings.Join(unset, ", $"))
	}
	return v, ""
}

// readKamalSecrets parses the files that exist, in order, and says
// which were read, and which lines ("file:line") were skipped as no
// assignment.
func readKamalSecrets(files []string) (all []kamalSecret, read, skips []string, err error) {
	for _, f := range files {
		data, err := readCapped(f, MaxFileSize, "Kamal secrets file", "MaxFileSize")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, nil, err
		}
		entries, skipped, err := kamalEntries(f, string(data))
		if err != nil {
			return nil, nil, nil, err
		}
		all = append(all, entries...)
		read = append(read, f)
		for _, n := range skipped {
			skips = append(skips, fmt.Sprintf("%s:%d", f, n))
		}
	}
	return all, read, skips, nil
}

// kamalEntries reads the NAME=... lines of a dotenv file as Kamal's
// dotenv does, with secret.ParseDotenv. A line that is not an
// assignment ("set -a", "source .env", ...) is skipped, as Ruby's dotenv
// skips it; its number is returned in skipped. Errors name lines, never
// their content.
func kamalEntries(file, text string) (entries []kamalSecret, skipped []int, err error) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var parsed []secret.Assignment
	for range len(lines) + 1 {
		parsed, err = secret.ParseDotenv(strings.Join(lines, "\n"))
		if err == nil {
			break
		}
		n, ok := notAssignment(err, lines)
		if !ok {
			return nil, nil, fmt.Errorf("read Kamal secrets file %s: %w", file, err)
		}
		lines[n-1] = ""
		skipped = append(skipped, n)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read Kamal secrets file %s: %w", file, err)
	}
	entries = make([]kamalSecret, len(parsed))
	for i, l := range parsed {
		e := kamalSecret{name: l.Name, file: file, line: l.Line, text: l.Value}
		switch {
		case l.Command():
			e.kind, e.text = kamalSecretCommand, ""
		case l.Quote == '\'':
			e.kind = kamalSecretLiteral
		}
		entries[i] = e
	}
	return entries, skipped, nil
}

// dotenvLineRe finds the line a secret.ParseDotenv error names.
var dotenvLineRe = regexp.MustCompile(`^line (\d+): (expected NAME=value|the name before)`)

// notAssignment returns the line of a ParseDotenv error that is about a
// line that is no NAME=value assignment, which dotenv skips.
func notAssignment(err error, lines []string) (int, bool) {
	m := dotenvLineRe.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	return n, n >= 1 && n <= len(lines) && lines[n-1] != ""
}

// kamalSecretsSummary is what an import learns from the secrets files:
// names only.
type kamalSecretsSummary struct {
	read     []string
	names    []string          // every name set, sorted
	skipped  []string          // "file:line" of lines that are no assignment
	commands map[string]string // name -> "file:line" of a command that sets it last
}

func summarizeKamalSecrets(files []string) (kamalSecretsSummary, error) {
	entries, read, skips, err := readKamalSecrets(files)
	if err != nil {
		return kamalSecretsSummary{}, err
	}
	s := kamalSecretsSummary{read: read, skipped: skips, commands: map[string]string{}}
	seen := map[string]bool{}
	for _, e := range entries {
		if !seen[e.name] {
			seen[e.name] = true
			s.names = append(s.names, e.name)
		}
		if e.kind == kamalSecretCommand {
			s.commands[e.name] = fmt.Sprintf("%s:%d", e.file, e.line)
		} else {
			delete(s.commands, e.name)
		}
	}
	slices.Sort(s.names)
	return s, nil
}

// aliasedSecrets resolves an env name through Kamal's NAME:ALIAS: the
// container's NAME gets the value of the secret ALIAS.
type aliasedSecrets struct {
	src     secret.Source
	aliases map[string]string // env name -> secret name
}

// String lists the aliases, never values.
func (a aliasedSecrets) String() string {
	var pairs []string
	for _, k := range slices.Sorted(maps.Keys(a.aliases)) {
		pairs = append(pairs, k+"="+a.aliases[k])
	}
	return fmt.Sprintf("%v with aliases %s", a.src, strings.Join(pairs, " "))
}

func (a aliasedSecrets) Secret(ctx context.Context, name string) (string, error) {
	alias, ok := a.aliases[name]
	if !ok {
		return a.src.Secret(ctx, name)
	}
	v, err := a.src.Secret(ctx, alias)
	if errors.Is(err, secret.ErrMissing) {
		return "", &secret.MissingError{Name: name, Where: "aliased to secret " + alias + ": " + secret.Where(err)}
	}
	return v, err
}
