package secret

import (
	"fmt"
	"regexp"
	"strings"
)

// Assignment is one NAME=value entry of a dotenv file, which may span
// lines.
type Assignment struct {
	// Name is the name before "=".
	Name string
	// Value is the value as a reader of the file means it: without its
	// quotes, with a double-quoted value's escapes read, and with an
	// unquoted value's " #" comment and surrounding spaces trimmed.
	Value string
	// Quote is the value's quote: '"', '\'', or 0 for an unquoted value.
	Quote byte
	// Raw is the value as written: between the quotes, or everything
	// after "=" (comment included) for an unquoted value; the lines of a
	// value that spans several are joined with "\n".
	Raw string
	// Line is the line the entry starts on, counting from 1.
	Line int
}

// Command reports whether the value is a shell command substitution,
// "$(...)" or "`...`", outside single quotes. Nothing here runs it: File
// rejects it, and deploy/kamal reports it.
func (a Assignment) Command() bool {
	return a.Quote != '\'' && (strings.Contains(a.Raw, "$(") || strings.Contains(a.Raw, "`"))
}

// nameRe is what a dotenv name may be, as a shell variable's.
var nameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseDotenv reads dotenv text (see File for the syntax) into its
// assignments, in the order written; a name set twice appears twice.
// Blank lines and "#" comments are skipped, and "export " before a name
// is ignored. An unquoted value holding a command substitution continues
// over the following lines until its parentheses close, as a shell
// reads it. Errors name the line, never its content, which may hold a
// secret.
func ParseDotenv(text string) ([]Assignment, error) {
	var out []Assignment
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
		if !nameRe.MatchString(key) {
			return nil, fmt.Errorf("line %d: the name before \"=\" must be letters, digits and \"_\", not starting with a digit", n)
		}
		a := Assignment{Name: key, Line: n}
		val = strings.TrimLeft(val, " \t")
		if val == "" || val[0] != '"' && val[0] != '\'' {
			a.Raw = val
			if j := commentStart(val); j >= 0 {
				val = val[:j]
			}
			a.Value = strings.TrimSpace(val)
			if a.Command() {
				// A command may run over several lines until its parentheses close.
				depth := strings.Count(a.Raw, "(") - strings.Count(a.Raw, ")")
				for depth > 0 && i+1 < len(lines) {
					i++
					a.Raw += "\n" + lines[i]
					depth += strings.Count(lines[i], "(") - strings.Count(lines[i], ")")
				}
			}
			out = append(out, a)
			continue
		}
		// A quoted value, which may continue over the following lines.
		a.Quote = val[0]
		body := val[1:]
		var raw, b strings.Builder
		for {
			end := unquote(&b, body, a.Quote)
			if end >= 0 {
				raw.WriteString(body[:end])
				if after := strings.TrimSpace(body[end+1:]); after != "" && after[0] != '#' {
					return nil, fmt.Errorf("line %d: unexpected text after the closing quote", i+1)
				}
				break
			}
			raw.WriteString(body)
			raw.WriteByte('\n')
			b.WriteByte('\n')
			if i++; i >= len(lines) {
				return nil, fmt.Errorf("line %d: the quoted value has no closing quote", n)
			}
			body = lines[i]
		}
		a.Value, a.Raw = b.String(), raw.String()
		out = append(out, a)
	}
	return out, nil
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
