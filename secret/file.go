package secret

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// DefaultFile is the File path used when Path is empty. It holds secret
// values, so it must stay out of git (list it in .gitignore).
const DefaultFile = ".slipway/secrets"

// File reads secrets from a dotenv file kept out of git:
//
//	# comments and blank lines are skipped
//	SECRET_KEY_BASE=abc123
//	export LITESTREAM_SECRET_ACCESS_KEY="value with spaces, \"escapes\" and\nnewlines"
//	LITERAL='single quotes keep $everything as written'
//
// Double-quoted values understand \n, \r, \t, \" and \\ and, like
// single-quoted ones, may span lines (for PEM keys). An unquoted value
// ends at a " #" comment and has its surrounding spaces trimmed. A later
// line overrides an earlier one. The file is read at every lookup; no
// variable is expanded and no command is run: an unquoted value that is
// a "$(...)" or "`...`" command is an error (use Command).
type File struct {
	// Path is the file; "" means DefaultFile. A relative path resolves
	// against the project root (see ProjectRoot: the nearest directory
	// with a go.mod above the working directory), not the working
	// directory, so a test in a package directory reads the file that
	// `mage deploy` at the root reads.
	Path string
}

var _ Source = File{}

func (f File) path() string {
	if f.Path == "" {
		return DefaultFile
	}
	return f.Path
}

// String returns "secrets file <path>", the path as configured.
func (f File) String() string { return "secrets file " + f.path() }

// Secret returns the value of name in the file. A missing file means
// every secret is missing; a malformed file is an error naming the line,
// never its content.
func (f File) Secret(_ context.Context, name string) (string, error) {
	p := ProjectPath(f.path())
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", &MissingError{name, fmt.Sprintf(
			"secrets file %s does not exist; create it with a line %s=... and keep it out of git", p, name)}
	}
	if err != nil {
		return "", fmt.Errorf("read secrets file %s: %w", p, err)
	}
	values, err := readFile(string(data))
	if err != nil {
		return "", fmt.Errorf("read secrets file %s: %w", p, err)
	}
	v, ok := values[name]
	if !ok {
		return "", &MissingError{name, "not in " + p}
	}
	return v, nil
}

// readFile reads a File's text into its values, last line winning.
func readFile(text string) (map[string]string, error) {
	entries, err := ParseDotenv(text)
	if err != nil {
		return nil, err
	}
	values := make(map[string]string, len(entries))
	for _, a := range entries {
		// A value that starts as a command, or whose command ran on over
		// lines, would be taken for one: refuse it rather than keep its text.
		if a.Quote == 0 && (strings.HasPrefix(a.Value, "$(") || strings.HasPrefix(a.Value, "`") || strings.Contains(a.Raw, "\n")) {
			return nil, fmt.Errorf("line %d: command substitution is not supported; use secret.Command for a password manager", a.Line)
		}
		values[a.Name] = a.Value
	}
	return values, nil
}
