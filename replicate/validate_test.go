package replicate_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
)

func TestReplicaValidateAt(t *testing.T) {
	s3 := func(edit func(*replicate.S3)) replicate.Replica {
		s := replicate.S3{Bucket: "acme-hello", Path: "hello.db", Endpoint: "https://s3.example.com"}
		edit(&s)
		return replicate.Replica{DB: "/data/hello.db", S3: &s}
	}
	for _, tc := range []struct {
		name  string
		r     replicate.Replica
		field string
		msg   string
	}{
		{"a bucket name under 3 characters", s3(func(s *replicate.S3) { s.Bucket = "pb" }), "at.s3.bucket", `"pb" is 2 characters`},
		{"a bucket name over 63 characters", s3(func(s *replicate.S3) { s.Bucket = "a123456789a123456789a123456789a123456789a123456789a123456789abcd" }), "at.s3.bucket", "64 characters"},
		{"an upper-case bucket name", s3(func(s *replicate.S3) { s.Bucket = "Acme-Hello" }), "at.s3.bucket", "character S3 refuses"},
		{"an underscore in the bucket", s3(func(s *replicate.S3) { s.Bucket = "acme_hello" }), "at.s3.bucket", "character S3 refuses"},
		{"a bucket ending in a dash", s3(func(s *replicate.S3) { s.Bucket = "acme-" }), "at.s3.bucket", "start and end with a letter or digit"},
		{"a bucket starting with a dot", s3(func(s *replicate.S3) { s.Bucket = ".acme" }), "at.s3.bucket", "start and end"},
		{"two dots in a row", s3(func(s *replicate.S3) { s.Bucket = "acme..hello" }), "at.s3.bucket", "two dots"},
		{"a bucket named like an IP address", s3(func(s *replicate.S3) { s.Bucket = "192.168.5.4" }), "at.s3.bucket", "IP address"},
		{"no bucket", s3(func(s *replicate.S3) { s.Bucket = "" }), "at.s3.bucket", "required"},
		{"an absolute replica path", s3(func(s *replicate.S3) { s.Path = "/hello.db" }), "at.s3.path", "relative"},
		{"a replica path that climbs", s3(func(s *replicate.S3) { s.Path = "a/../../b" }), "at.s3.path", "clean"},
		{"a replica path with a trailing slash", s3(func(s *replicate.S3) { s.Path = "staging/" }), "at.s3.path", "clean"},
		{"a replica path of dots", s3(func(s *replicate.S3) { s.Path = ".." }), "at.s3.path", "clean"},
		{"an endpoint without a scheme", s3(func(s *replicate.S3) { s.Endpoint = "s3.example.com" }), "at.s3.endpoint", "http:// or https://"},
		{"an endpoint with a path", s3(func(s *replicate.S3) { s.Endpoint = "https://s3.example.com/bucket" }), "at.s3.endpoint", "without a path"},
		{"an endpoint with a password", s3(func(s *replicate.S3) { s.Endpoint = "https://k:pw@s3.example.com" }), "at.s3.endpoint", "must not hold a user"},
		{"a bad operator endpoint", s3(func(s *replicate.S3) { s.OperatorEndpoint = "ftp://127.0.0.1" }), "at.s3.operatorEndpoint", "http://"},
		{"a relative database path", replicate.Replica{DB: "hello.db"}, "at.db", "absolute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.r.ValidateAt("at")
			require.NotEmpty(t, errs)
			fe, ok := errors.AsType[*replicate.FieldError](errs[0])
			require.True(t, ok, "%v is a *FieldError", errs[0])
			assert.Equal(t, tc.field, fe.Field)
			assert.Contains(t, fe.Problem, tc.msg)
			assert.NotContains(t, errs[0].Error(), "pw", "no credential from the endpoint is quoted")
		})
	}
	t.Run("valid replicas pass", func(t *testing.T) {
		for _, r := range []replicate.Replica{
			s3(func(*replicate.S3) {}),
			s3(func(s *replicate.S3) { s.Bucket, s.Path, s.Endpoint = "my.app-2026", "", "" }),
			s3(func(s *replicate.S3) {
				s.Endpoint, s.OperatorEndpoint = "http://10.250.1.1:7070", "http://127.0.0.1:7070/"
			}),
			{DB: "/data/hello.db"},
		} {
			assert.Empty(t, r.ValidateAt(""), "%s", r)
		}
	})
}

func TestForOperator(t *testing.T) {
	r := replicate.Replica{DB: "/data/a.db", S3: &replicate.S3{Bucket: "acme", Endpoint: "http://10.250.1.1:7070", OperatorEndpoint: "http://127.0.0.1:7070"}}
	op := r.ForOperator()
	assert.Equal(t, "http://127.0.0.1:7070", op.S3.Endpoint)
	assert.Equal(t, "http://10.250.1.1:7070", r.S3.Endpoint, "the replica itself is unchanged")
	same := replicate.Replica{DB: "/data/a.db", S3: &replicate.S3{Bucket: "acme", Endpoint: "http://10.250.1.1:7070"}}
	assert.Equal(t, same, same.ForOperator(), "no operator endpoint: the same view")
}

func TestCheckBucket(t *testing.T) {
	s3 := lab.RequireS3(t)
	ctx := context.Background()
	secrets := deploySecrets{s3}
	t.Run("a bucket that exists passes", func(t *testing.T) {
		r := replicate.Replica{DB: "/data/app.db", S3: &replicate.S3{Bucket: s3.Bucket(t, "model-chk"), Endpoint: s3.Endpoint, Secrets: secrets}}
		require.NoError(t, replicate.CheckBucket(ctx, r))
	})
	t.Run("a missing bucket is named, before anything starts", func(t *testing.T) {
		r := replicate.Replica{DB: "/data/app.db", S3: &replicate.S3{Bucket: "model-no-such-bucket", Endpoint: s3.Endpoint, Secrets: secrets}}
		err := replicate.CheckBucket(ctx, r)
		require.ErrorIs(t, err, replicate.ErrNoBucket)
		assert.Contains(t, err.Error(), `create bucket "model-no-such-bucket" on `+s3.Endpoint)
		assert.NotContains(t, err.Error(), s3.SecretAccessKey)
	})
	t.Run("a local directory needs no bucket", func(t *testing.T) {
		require.NoError(t, replicate.CheckBucket(ctx, replicate.Replica{DB: "/data/app.db"}))
	})
}

// deploySecrets hands out the lab's S3 credentials by their default names.
type deploySecrets struct{ s3 *lab.S3 }

func (d deploySecrets) Secret(_ context.Context, name string) (string, error) {
	switch name {
	case replicate.DefaultAccessKeyIDVar:
		return d.s3.AccessKeyID, nil
	case replicate.DefaultSecretAccessKeyVar:
		return d.s3.SecretAccessKey, nil
	}
	return "", errors.New("no secret " + name)
}
