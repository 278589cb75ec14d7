package deploy

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/secret"
)

// A missing bucket is found from this machine before anything starts,
// through the operator's view of S3, and named by its database.
func TestCheckReplicaBucketsFindsAMissingBucket(t *testing.T) {
	s3 := lab.RequireS3(t)
	a := dbApp()
	a.Secrets = secret.File{Path: lab.SecretsFile(lab.Options{})}
	a.Databases[0].Replica = &replicate.Replica{S3: &replicate.S3{Bucket: s3.Bucket(t, "model-db"),
		Endpoint: "http://192.0.2.1:1", OperatorEndpoint: s3.Endpoint}} // the hosts' address is never dialled from here
	a.Databases = append(a.Databases, Database{Name: "audit", Path: "/data/audit.db", Role: "web",
		Replica: &replicate.Replica{S3: &replicate.S3{Bucket: "model-missing-bucket", Endpoint: s3.Endpoint}}})
	require.NoError(t, a.Validate())

	err := a.CheckReplicaBuckets(context.Background())
	require.ErrorIs(t, err, replicate.ErrNoBucket)
	assert.Contains(t, err.Error(), `databases[1] (audit): replica s3://model-missing-bucket/audit.db: bucket does not exist: create bucket "model-missing-bucket"`)
	assert.NotContains(t, err.Error(), "databases[0]", "the first bucket exists")
	assert.NotContains(t, err.Error(), s3.SecretAccessKey)

	a.Databases = a.Databases[:1]
	require.NoError(t, a.CheckReplicaBuckets(context.Background()))
}
