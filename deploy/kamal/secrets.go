package deploy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
)

// KamalSecrets reads secrets from Kamal's dotenv files, such as
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
// never run: its name is missing here, so that a later source in a Chain
// (EnvSecrets, or a CommandSecrets running the password manager) can
// supply it. The files are read at every lookup and no value is kept.
type KamalSecrets struct {
	// Files are the secrets files in the order Kamal reads them; a file
	// that does not exist is skipped.
	Files []string
}

var _ SecretSource = KamalSecrets{}

// String returns "Kamal secrets files <files>".
func (k KamalSecrets) String() string { return "Kamal secrets files " + strings.Join(k.Files, ", ") }

// Secret returns the value of name from the last file that sets it.
func (k KamalSecrets) Secret(_ context.Context, name string) (string, error) {
	entries, read, err := readKamalSecrets(k.Files)
	if err != nil {
		return "", err
	}
	if len(read) == 0 {
		return "", &missingSecretError{name, "no Kamal secrets file exists (" + strings.Join(k.Files, ", ") + ")"}
	}
	values := map[string]string{}
	why := map[string]string{}
	budget := maxKamalSecretsResolved
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
		return "", &missingSecretError{name, reason}
	}
	return "", &missingSecretError{name, "not in " + strings.Join(read, ", ")}
}

// MaxKamalSecretSize bounds a secret's value once its $NAME references
// are resolved, so that NAME2=$NAME1$NAME1, NAME3=$NAME2$NAME2, ... fails
// instead of doubling into gigabytes.
const MaxKamalSecretSize = 64 << 10

// maxKamalSecretsResolved bounds the values of all the secrets files
// together, resolved, as each lookup resolves every line.
const maxKamalSecretsResolved = 4 << 20

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
		return "", fmt.Sprintf("set by a command at %s, which Slipway does not run; export %s or add a CommandSecrets source", where, e.name)
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
		if size += len(val); size > MaxKamalSecretSize || size > *budget {
			return "" // reported below, before the value is built
		}
		return val
	})
	switch {
	case failed != "":
		return "", failed
	case size > MaxKamalSecretSize:
		return "", fmt.Sprintf("%s expands to more than %d bytes (MaxKamalSecretSize) through its $ references; a secret is a line: check the references", where, MaxKamalSecretSize)
	case size > *budget:
		*budget = 0
		return "", fmt.Sprintf("%s: the secrets files expand to more than %d bytes through their $ references; a secret is a line: check the references", where, maxKamalSecretsResolved)
	}
	*budget -= len(v)
	if len(unset) > 0 {
		return "", fmt.Sprintf("%s reads $%s, which is not set in the environment", where, strings.Join(unset, ", $"))
	}
	return v, ""
}

// readKamalSecrets parses the files that exist, in order, and says
// which were read.
func readKamalSecrets(files []string) ([]kamalSecret, []string, error) {
	var all []kamalSecret
	var read []string
	for _, f := range files {
		data, err := readCapped(f, MaxKamalFileSize, "Kamal secrets file", "MaxKamalFileSize")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		entries, err := parseKamalSecrets(f, string(data))
		if err != nil {
			return nil, nil, err
		}
		all = append(all, entries...)
		read = append(read, f)
	}
	return all, read, nil
}

// parseKamalSecrets reads the NAME=... lines of a dotenv file as Kamal's
// dotenv does. Its errors name lines, never their content.
func parseKamalSecrets(file, text string) ([]kamalSecret, error) {
	var entries []kamalSecret
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		fail := func(msg string) error { return fmt.Errorf("read Kamal secrets file %s: line %d: %s", file, n, msg) }
		line := strings.TrimLeft(lines[i], " \t")
		if strings.TrimSpace(line) == "" || line[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			line = strings.TrimLeft(rest, " \t")
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fail("expected NAME=value")
		}
		key = strings.TrimRight(key, " \t")
		if !envNameRe.MatchString(key) {
			return nil, fail(`the name before "=" must be letters, digits and "_", not starting with a digit`)
		}
		e := kamalSecret{name: key, file: file, line: n}
		val = strings.TrimLeft(val, " \t")
		if val == "" || val[0] != '"' && val[0] != '\'' {
			if strings.Contains(val, "$(") || strings.Contains(val, "`") {
				// A command may run over several lines until its parentheses close.
				depth := strings.Count(val, "(") - strings.Count(val, ")")
				for depth > 0 && i+1 < len(lines) {
					i++
					depth += strings.Count(lines[i], "(") - strings.Count(lines[i], ")")
				}
				e.kind = kamalSecretCommand
				entries = append(entries, e)
				continue
			}
			if j := commentStart(val); j >= 0 {
				val = val[:j]
			}
			e.text = strings.TrimSpace(val)
			entries = append(entries, e)
			continue
		}
		quote := val[0]
		body := val[1:]
		var raw, b strings.Builder
		for {
			end := unquote(&b, body, quote)
			if end >= 0 {
				raw.WriteString(body[:end])
				if after := strings.TrimSpace(body[end+1:]); after != "" && after[0] != '#' {
					return nil, fail("unexpected text after the closing quote")
				}
				break
			}
			raw.WriteString(body)
			raw.WriteByte('\n')
			b.WriteByte('\n')
			if i++; i >= len(lines) {
				return nil, fail("the quoted value has no closing quote")
			}
			body = lines[i]
		}
		switch {
		case quote == '\'':
			e.kind = kamalSecretLiteral
		case strings.Contains(raw.String(), "$(") || strings.Contains(raw.String(), "`"):
			e.kind = kamalSecretCommand
		}
		if e.kind != kamalSecretCommand {
			e.text = b.String()
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// kamalSecretsSummary is what an import learns from the secrets files:
// names only.
type kamalSecretsSummary struct {
	read     []string
	names    []string          // every name set, sorted
	commands map[string]string // name -> "file:line" of a command that sets it last
}

func summarizeKamalSecrets(files []string) (kamalSecretsSummary, error) {
	entries, read, err := readKamalSecrets(files)
	if err != nil {
		return kamalSecretsSummary{}, err
	}
	s := kamalSecretsSummary{read: read, commands: map[string]string{}}
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
	src     SecretSource
	aliases map[string]string // env name -> secret name
}

// String lists the aliases, never values.
func (a aliasedSecrets) String() string {
	var pairs []string
	for _, k := range sortedKeys(a.aliases) {
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
	if errors.Is(err, ErrSecretMissing) {
		return "", &missingSecretError{name, "aliased to secret " + alias + ": " + missingReason(err)}
	}
	return v, err
}
