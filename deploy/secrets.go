package deploy

import (
	"context"
	"fmt"
	"slices"

	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/secret"
)

// ResolveSecrets resolves every secret the App's containers need: the
// names in App.Env and in every role's and accessory's Env (the
// migration uses its role's env). It asks App.Secrets, or secret.Env
// when that is nil, once per name, in name order. When any are missing
// the error wraps a *secret.MissingListError naming all of them: test for
// it with errors.As (or for secret.ErrMissing with errors.Is), not with a
// type assertion, which may not see it. No error carries a value.
func ResolveSecrets(ctx context.Context, a App) (secret.Values, error) {
	return secret.Resolve(ctx, a.Secrets, secretNames(a))
}

// secretNames lists every secret name the App uses, sorted, once each.
func secretNames(a App) []string {
	names := slices.Clone(a.Env.Secret)
	for _, r := range a.Roles {
		names = append(names, r.Env.Secret...)
		for _, s := range r.Servers {
			names = append(names, s.Env.Secret...)
		}
		if px := r.Proxy; px != nil {
			names = append(names, px.TLSCertificate, px.TLSPrivateKey)
		}
	}
	for _, acc := range a.Accessories {
		names = append(names, acc.Env.Secret...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return slices.DeleteFunc(names, func(n string) bool { return n == "" })
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
//
// It also prints the failed hosts grouped by reason when *err holds a
// *HostsError (printer.failures): an exported method's last words.
func (s *Session) redactErr(err *error) {
	if *err == nil {
		return
	}
	s.out.failures(*err)
	*err = s.redacted(*err)
}

// redacted is err (not nil) as redactErr makes it, without printing.
func (s *Session) redacted(err error) error {
	if _, ok := err.(*sessionError); ok {
		return err
	}
	return &sessionError{err: err, out: s.out}
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

// secret resolves name from src (secret.Env when nil) and adds the value
// to the session's redaction set: every secret a session resolves goes
// through here or through resolveSecrets.
func (s *Session) secret(ctx context.Context, src secret.Source, name string) (string, error) {
	if src == nil {
		src = secret.Env{}
	}
	v, err := src.Secret(ctx, name)
	if err != nil {
		return "", err
	}
	s.out.redact(secret.Values{name: v})
	return v, nil
}

// learnReplica adds a replica's credentials to the session's redaction
// set before something else (Litestream's S3 client) resolves them out of
// the session's sight. A credential that cannot be resolved is left to
// that resolver to report, by name.
func (s *Session) learnReplica(ctx context.Context, r replicate.Replica) {
	var src secret.Source = secret.Env{}
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
