package replicate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/benbjohnson/litestream"
)

// api makes the S3 client the lease uses, configured as Litestream's own
// replica client is (region, endpoint, path style, checksums), with the
// replica's credentials.
func (s S3) api(ctx context.Context, r Replica) (*s3.Client, error) {
	id, err := s.secrets().Secret(ctx, s.accessKeyIDVar())
	if err != nil {
		return nil, fmt.Errorf("replica %s: access key id %s: %w", r, s.accessKeyIDVar(), err)
	}
	secret, err := s.secrets().Secret(ctx, s.secretAccessKeyVar())
	if err != nil {
		return nil, fmt.Errorf("replica %s: secret access key %s: %w", r, s.secretAccessKeyVar(), err)
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(s.region()),
		config.WithHTTPClient(&http.Client{Timeout: time.Minute}),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, "")),
	)
	if err != nil {
		return nil, fmt.Errorf("replica %s: S3 client for the lease: %w", r, err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = s.pathStyle()
		if s.Endpoint != "" {
			o.BaseEndpoint = aws.String(s.Endpoint)
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	}), nil
}

// probeConditional proves, right after the lease was taken, that the
// server honours conditional writes: a second create of lock.json with
// If-None-Match: * must fail with 412. A server that accepts it (it
// ignores the condition) or rejects the header cannot keep a second
// replicator out; the lease is then removed and ErrNoConditionalWrites
// returned. The probe writes the same lease body, so nothing changes
// where the server does honour the condition.
func (s S3) probeConditional(ctx context.Context, r Replica, api *s3.Client, cur *litestream.Lease) error {
	body, _ := json.Marshal(cur)
	key := s.path(r.DB) + "/" + LeaseFile
	_, err := api.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"), IfNoneMatch: aws.String("*"),
	})
	if err != nil && preconditionFailed(err) {
		return nil
	}
	// Either way this lease guards nothing: take it away again.
	_, derr := api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err == nil {
		err = errors.New("a second create of the lease object with If-None-Match: * succeeded")
	}
	if derr != nil {
		err = errors.Join(err, fmt.Errorf("remove the lease object: %w", derr))
	}
	return noConditional(r, err)
}

func noConditional(r Replica, cause error) error {
	return fmt.Errorf("replicate to %s: %w (%v): the lease that keeps a second replicator off this replica cannot work there; use a server that checks If-None-Match and If-Match on PutObject (AWS S3 does, as does versitygw), or set Replica.Unguarded to run without the lease and accept that two replicators on this path would fork the replica",
		r, ErrNoConditionalWrites, cause)
}

func preconditionFailed(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "PreconditionFailed" || api.ErrorCode() == "412") {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	return errors.As(err, &status) && status.HTTPStatusCode() == http.StatusPreconditionFailed
}

// notImplemented reports a server that rejects a conditional header
// outright.
func notImplemented(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "NotImplemented" || api.ErrorCode() == "501") {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	return errors.As(err, &status) && status.HTTPStatusCode() == http.StatusNotImplemented
}
