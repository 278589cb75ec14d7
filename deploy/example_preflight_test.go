package deploy_test

import (
	"context"
	"errors"
	"log"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
)

// Refuse to deploy to a host whose Docker Engine is older than Slipway
// supports.
func ExampleSession_CheckEngines() {
	ctx := context.Background()
	s, err := deploy.Connect(ctx, deploy.App{ /* ... */ }, deploy.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckEngines(ctx); errors.Is(err, engine.ErrEngineTooOld) {
		log.Fatalf("upgrade Docker Engine to %s or newer first: %v", engine.MinimumVersion, err)
	} else if err != nil {
		log.Fatal(err)
	}
}
