package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/slipwayhq/slipway/replicate"
)

// fileConfig is the part of a litestream.yml (Litestream v0.5 keys) that
// replicate.Config renders.
type fileConfig struct {
	Snapshot struct {
		Interval  string `yaml:"interval"`
		Retention string `yaml:"retention"`
	} `yaml:"snapshot"`
	DBs []struct {
		Path    string `yaml:"path"`
		Replica struct {
			Type            string `yaml:"type"`
			Bucket          string `yaml:"bucket"`
			Path            string `yaml:"path"`
			Region          string `yaml:"region"`
			Endpoint        string `yaml:"endpoint"`
			ForcePathStyle  *bool  `yaml:"force-path-style"`
			AccessKeyID     string `yaml:"access-key-id"`
			SecretAccessKey string `yaml:"secret-access-key"`
			SyncInterval    string `yaml:"sync-interval"`
			Unguarded       bool   `yaml:"slipway-unguarded"`
		} `yaml:"replica"`
	} `yaml:"dbs"`
}

// readConfig reads the litestream.yml at path into the replicas it
// describes. Credentials must be ${VAR} references (as Slipway renders
// them): the replica keeps the names and reads the values from the
// environment, so no secret is ever held in the file or a message.
func readConfig(path string) ([]replicate.Replica, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var c fileConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(c.DBs) == 0 {
		return nil, fmt.Errorf("config %s: no dbs", path)
	}
	snapshot, err1 := parseDuration(c.Snapshot.Interval)
	retention, err2 := parseDuration(c.Snapshot.Retention)
	if err := joinErr(err1, err2); err != nil {
		return nil, fmt.Errorf("config %s: snapshot: %w", path, err)
	}
	var rs []replicate.Replica
	for i, d := range c.DBs {
		at := fmt.Sprintf("config %s: dbs[%d]", path, i)
		r := replicate.Replica{DB: d.Path, SnapshotInterval: snapshot, Retention: retention, Unguarded: d.Replica.Unguarded}
		if r.SyncInterval, err = parseDuration(d.Replica.SyncInterval); err != nil {
			return nil, fmt.Errorf("%s.replica.sync-interval: %w", at, err)
		}
		switch d.Replica.Type {
		case "file":
			r.Dir = d.Replica.Path
		case "s3":
			s := &replicate.S3{Bucket: d.Replica.Bucket, Path: d.Replica.Path, Region: d.Replica.Region, Endpoint: d.Replica.Endpoint}
			if d.Replica.ForcePathStyle != nil && s.Endpoint != "" {
				s.VirtualHosted = !*d.Replica.ForcePathStyle
			}
			if s.AccessKeyIDVar, err = varName(d.Replica.AccessKeyID); err != nil {
				return nil, fmt.Errorf("%s.replica.access-key-id: %w", at, err)
			}
			if s.SecretAccessKeyVar, err = varName(d.Replica.SecretAccessKey); err != nil {
				return nil, fmt.Errorf("%s.replica.secret-access-key: %w", at, err)
			}
			r.S3 = s
		default:
			return nil, fmt.Errorf("%s.replica.type: %q is not s3 or file", at, d.Replica.Type)
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// varName returns VAR of "${VAR}"; "" keeps the default name.
func varName(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	name, ok := strings.CutPrefix(v, "${")
	if name, ok2 := strings.CutSuffix(name, "}"); ok && ok2 {
		return name, nil
	}
	return "", fmt.Errorf("must be a ${VAR} reference to the environment, not a value")
}

func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

func joinErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
