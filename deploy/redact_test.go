package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/secret"
)

// testSession is a Session with no hosts, for the redaction it keeps.
func testSession(out *bytes.Buffer) *Session { return &Session{out: newPrinter(out)} }

func TestSessionRedactionSet(t *testing.T) {
	t.Run("holds every secret the session resolved, from any source", func(t *testing.T) {
		var out bytes.Buffer
		s := testSession(&out)
		s.out.redact(secret.Values{"APP_KEY": "app-secret-1"})
		s.out.redact(secret.Values{"REGISTRY_PASSWORD": "registry-pw-2"})
		// A replica's own source gives a name the app uses another value.
		v, err := s.secret(t.Context(), secret.Func(func(_ context.Context, name string) (string, error) {
			return "replica-key-3", nil
		}), "APP_KEY")
		require.NoError(t, err)
		require.Equal(t, "replica-key-3", v)
		s.out.linef("app-secret-1 registry-pw-2 replica-key-3")
		s.out.flush()
		assert.Equal(t, "[redacted] [redacted] [redacted]\n", out.String())
		assert.Equal(t, "[redacted]/[redacted]/[redacted]", s.Redact("app-secret-1/registry-pw-2/replica-key-3"))
	})

	t.Run("holds a replica's credentials from its own source", func(t *testing.T) {
		var out bytes.Buffer
		s := testSession(&out)
		src := secret.Func(func(_ context.Context, name string) (string, error) { return "s3-" + name, nil })
		s.learnReplica(t.Context(), replicate.Replica{DB: "/data/app.db", S3: &replicate.S3{Bucket: "b", Secrets: src}})
		assert.Equal(t, "[redacted] [redacted]", s.Redact("s3-"+replicate.DefaultAccessKeyIDVar+" s3-"+replicate.DefaultSecretAccessKeyVar))
	})

	t.Run("learning more secrets passes on what the output held back", func(t *testing.T) {
		var out bytes.Buffer
		s := testSession(&out)
		s.out.redact(secret.Values{"A": "first-secret"})
		fmt.Fprint(s.out, "unfinished line with first-secret")
		s.out.redact(secret.Values{"B": "second-secret"})
		fmt.Fprint(s.out, " and second-secret\n")
		s.out.flush()
		assert.Equal(t, "unfinished line with [redacted] and [redacted]\n", out.String())
	})
}

func TestSessionErrorsAreRedacted(t *testing.T) {
	var out bytes.Buffer
	s := testSession(&out)
	s.out.redact(secret.Values{"DSN": "postgres://app:hunter2@db"})
	boot := &BootError{Host: "203.0.113.10", Container: "app-web-v2", Err: errors.New("gate failed"),
		Diagnostics: health.Diagnostics{Logs: []string{"connecting to postgres://app:hunter2@db"}}}
	fail := func() (err error) {
		defer s.redactErr(&err)
		return fmt.Errorf("deploy: %w", boot)
	}
	err := fail()
	assert.NotContains(t, err.Error(), "hunter2")
	assert.Contains(t, err.Error(), "connecting to [redacted]")
	assert.ErrorIs(t, err, ErrGateFailed, "errors.Is still sees through")
	var be *BootError
	require.ErrorAs(t, err, &be, "errors.As still sees through")
	assert.Equal(t, "app-web-v2", be.Container)

	t.Run("a value learned after the error was made is hidden too", func(t *testing.T) {
		err := func() (err error) {
			defer s.redactErr(&err)
			return errors.New("registry said: bad password late-password")
		}()
		s.out.redact(secret.Values{"REGISTRY_PASSWORD": "late-password"})
		assert.Equal(t, "registry said: bad password [redacted]", err.Error())
	})
	t.Run("nil stays nil", func(t *testing.T) {
		err := func() (err error) {
			defer s.redactErr(&err)
			return nil
		}()
		assert.NoError(t, err)
	})
}

func TestDiagnoseRedactsBeforeTheReportClips(t *testing.T) {
	for _, value := range []string{"straddling-secret-value-0123456789", `quo"te\back\slash-secret`} {
		s := secret.Values{"SECRET": value}
		// The secret starts a few characters before the screen's width.
		line := strings.Repeat("x", health.ScreenWidth-len("  | ")-10) + value + " tail"
		d := health.Diagnostics{Container: "app-web-v2", Logs: []string{line}, LogsErr: nil}
		report := (&BootError{Container: "app-web-v2", Err: errors.New("gate"), Diagnostics: d.Redact(s)}).Error()
		assert.NotContains(t, report, value[:6], "no prefix of the secret survives the clip")
		assert.Contains(t, report, "xxx[redacted")

		unredacted := (&BootError{Container: "app-web-v2", Err: errors.New("gate"), Diagnostics: d}).Error()
		assert.Contains(t, s.Redact(unredacted), value[:6], "redacting after the clip is what leaked")
	}
}
