package targets

import (
	"errors"
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/slipwayhq/slipway/deploy"
)

// splitCommand splits exec's CMD into the container command's arguments
// the way a POSIX shell splits words: spaces separate them, and single
// quotes, double quotes and backslashes keep spaces inside one, so
// `sh -c 'echo a b'` is three arguments. Nothing is expanded: the
// command runs in the container with no shell on this machine or the
// host, so a $VAR or $(...) here could only mean this machine's value,
// which is almost never what the operator meant. They are refused with
// a *deploy.ValidationError saying to single-quote them (for a shell in
// the container to expand), as are pipes, lists and redirections, which
// need that shell too. Globs and ~ are passed literally.
func splitCommand(cmd string) ([]string, error) {
	invalid := func(format string, args ...any) error {
		return &deploy.ValidationError{Problems: []deploy.Problem{{Field: "cmd", Message: fmt.Sprintf(format, args...)}}}
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(cmd), "")
	if err != nil {
		return nil, invalid("cannot split %q into arguments: %v", cmd, err)
	}
	if len(f.Stmts) == 0 {
		return nil, invalid("is empty: give the command to run, such as \"bin/rails console\"")
	}
	call, ok := f.Stmts[0].Cmd.(*syntax.CallExpr)
	if len(f.Stmts) > 1 || !ok || len(f.Stmts[0].Redirs) > 0 || f.Stmts[0].Background || f.Stmts[0].Negated || len(call.Assigns) > 0 {
		return nil, invalid("%q needs a shell (a list, pipe, redirection or assignment): run one in the container, as exec \"sh -c '...'\"", cmd)
	}
	args := make([]string, 0, len(call.Args))
	for _, w := range call.Args {
		var b strings.Builder
		if err := literal(&b, w.Parts, false); err != nil {
			return nil, invalid("%q: %v", cmd, err)
		}
		args = append(args, b.String())
	}
	return args, nil
}

// errExpansion says what to do with an expansion exec refuses.
var errExpansion = errors.New("would be expanded on this machine, not in the container: single-quote it, as in exec \"sh -c 'echo $HOME'\", for the container's shell to expand")

// literal writes the words parts with their quotes removed, and fails on
// any part that a shell would expand.
func literal(b *strings.Builder, parts []syntax.WordPart, quoted bool) error {
	for _, p := range parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(unescape(p.Value, quoted))
		case *syntax.SglQuoted:
			if p.Dollar {
				return fmt.Errorf("$'...' %w", errExpansion)
			}
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			if p.Dollar {
				return fmt.Errorf("$\"...\" %w", errExpansion)
			}
			if err := literal(b, p.Parts, true); err != nil {
				return err
			}
		case *syntax.ParamExp:
			return fmt.Errorf("$%s %w", p.Param.Value, errExpansion)
		case *syntax.CmdSubst:
			return fmt.Errorf("a command substitution $(...) %w", errExpansion)
		case *syntax.ArithmExp:
			return fmt.Errorf("an arithmetic expansion $((...)) %w", errExpansion)
		default:
			return fmt.Errorf("%T %w", p, errExpansion)
		}
	}
	return nil
}

// unescape removes a POSIX shell's backslashes from a literal: outside
// quotes a backslash keeps the next character as it is; inside double
// quotes only before $, `, ", \ and a newline. A backslash before a
// newline joins the lines.
func unescape(s string, quoted bool) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		next := s[i+1]
		switch {
		case next == '\n':
			i++
		case !quoted || strings.IndexByte("$`\"\\", next) >= 0:
			b.WriteByte(next)
			i++
		default:
			b.WriteByte('\\')
		}
	}
	return b.String()
}
