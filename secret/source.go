package secret

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Source looks up secret values by name. Its implementations here (Env,
// File, Command, Chain) are small values that are safe to copy and to
// use concurrently.
type Source interface {
	// Secret returns the value of name, or an error wrapping ErrMissing
	// when the source does not have it. Any other error means the source
	// failed (a malformed file, a sealed vault). No error holds a value.
	Secret(ctx context.Context, name string) (string, error)
}

// ErrMissing means a source does not have a secret. Errors that wrap it
// name the secret and where it was looked for, never a value.
var ErrMissing = errors.New("secret missing")

// MissingError is a source's answer for a name it does not have. It
// matches ErrMissing with errors.Is.
type MissingError struct {
	// Name is the secret's name.
	Name string
	// Where says where it was looked for, such as "not set in the
	// environment"; it never holds a value.
	Where string
}

// Error returns "secret NAME missing: where".
func (e *MissingError) Error() string { return "secret " + e.Name + " missing: " + e.Where }

// Is reports whether target is ErrMissing.
func (e *MissingError) Is(target error) bool { return target == ErrMissing }

// Where says where a missing secret was looked for: the Where of the
// *MissingError err holds, or else err's message.
func Where(err error) string {
	if m, ok := errors.AsType[*MissingError](err); ok {
		return m.Where
	}
	return err.Error()
}

// Func makes a Source of a function, such as a lookup in a vault client
// a program already holds.
type Func func(ctx context.Context, name string) (string, error)

var _ Source = Func(nil)

// Secret calls f.
func (f Func) Secret(ctx context.Context, name string) (string, error) { return f(ctx, name) }

// Env reads secrets from the process environment. A variable that is set
// but empty counts as present, with an empty value.
type Env struct{}

var _ Source = Env{}

// Secret returns the value of the environment variable name.
func (Env) Secret(_ context.Context, name string) (string, error) {
	if v, ok := os.LookupEnv(name); ok {
		return v, nil
	}
	return "", &MissingError{name, "not set in the environment"}
}

// String returns "the environment".
func (Env) String() string { return "the environment" }

// Chain asks each of its sources in turn and takes the first value found;
// nil sources are skipped. A source that fails for any reason but a
// missing secret stops the search, so that a broken source never silently
// yields to a later one.
type Chain []Source

var _ Source = Chain{}

// Secret returns the value of name from the first source that has it.
func (c Chain) Secret(ctx context.Context, name string) (string, error) {
	var where []string
	for _, s := range c {
		if s == nil {
			continue
		}
		v, err := s.Secret(ctx, name)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, ErrMissing) {
			return "", err
		}
		where = append(where, Where(err))
	}
	if len(where) == 0 {
		return "", &MissingError{name, "the chain has no sources"}
	}
	return "", &MissingError{name, strings.Join(where, "; ")}
}

// MissingListError lists every secret Resolve could not find. It matches
// ErrMissing with errors.Is.
type MissingListError struct {
	// Names are the missing secrets, sorted.
	Names []string
	// Reasons[i] says where Names[i] was looked for.
	Reasons []string
}

// Error names every missing secret, then says for each where it was
// looked for, one per line.
func (e *MissingListError) Error() string {
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

// Is reports whether target is ErrMissing.
func (e *MissingListError) Is(target error) bool { return target == ErrMissing }

// Resolve asks src (Env when nil) for every name, once each, in sorted
// order; empty names are skipped. When any are missing the error is a
// *MissingListError naming all of them, joined with the sources' other
// failures; it is redacted with the values found, since a source's own
// error might quote a value it gave for another name.
func Resolve(ctx context.Context, src Source, names []string) (Values, error) {
	if src == nil {
		src = Env{}
	}
	names = slices.Clone(names)
	slices.Sort(names)
	names = slices.Compact(names)
	names = slices.DeleteFunc(names, func(n string) bool { return n == "" })
	values := Values{}
	missing := &MissingListError{}
	var failed []error
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("resolve secrets: %w", err)
		}
		v, err := src.Secret(ctx, name)
		switch {
		case err == nil:
			values[name] = v
		case errors.Is(err, ErrMissing):
			missing.Names = append(missing.Names, name)
			missing.Reasons = append(missing.Reasons, Where(err))
		default:
			failed = append(failed, err)
		}
	}
	if len(missing.Names) > 0 {
		failed = append([]error{missing}, failed...)
	}
	if len(failed) > 0 {
		return nil, values.RedactError(errors.Join(failed...))
	}
	return values, nil
}
