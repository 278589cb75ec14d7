// Command tool is a small platform-team program that uses the Slipway SDK
// directly, without Mage: it deploys the lab's hello app, rolls it back
// and drills its replica, the way a chat-ops bot or a CI step would.
//
//	go run ./examples/tool deploy v2
//	go run ./examples/tool rollback v1
//	go run ./examples/tool drill
//	go run ./examples/tool plan v3
//
// It deploys examples/hello to the local lab (run `go run mage.go lab:up`
// first, as root).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/examples/hello/deployment"
	"github.com/slipwayhq/slipway/replicate"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, deployment.Lab(), deployment.LabReplicas(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tool:", err)
		switch {
		case errors.Is(err, deploy.ErrGateFailed):
			os.Exit(3)
		case errors.Is(err, deploy.ErrLocked):
			os.Exit(4)
		}
		os.Exit(1)
	}
}

// run carries out one command for app, whose database has replicas.
func run(ctx context.Context, app deploy.App, replicas []replicate.Replica, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: tool deploy VERSION | rollback VERSION | plan VERSION | drill")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()

	s, err := deploy.Connect(ctx, app, deploy.Options{Performer: "tool", LockWait: 30 * time.Second})
	if err != nil {
		return err
	}
	defer s.Close()

	version := func() (string, error) {
		if len(args) < 2 {
			return "", fmt.Errorf("%s needs a version", args[0])
		}
		return args[1], nil
	}
	switch args[0] {
	case "deploy":
		v, err := version()
		if err != nil {
			return err
		}
		_, err = s.Deploy(ctx, deploy.Release{Version: v})
		return err
	case "rollback":
		v, err := version()
		if err != nil {
			return err
		}
		_, err = s.Rollback(ctx, v)
		return err
	case "plan":
		v, err := version()
		if err != nil {
			return err
		}
		state, err := s.Observe(ctx)
		if err != nil {
			return err
		}
		plan, err := deploy.NewPlan(app, deploy.Release{Version: v}, state)
		if err != nil && !errors.Is(err, deploy.ErrNothingToDeploy) { // the empty plan says so itself
			return err
		}
		fmt.Print(plan)
		return nil
	case "drill":
		if len(replicas) == 0 {
			return errors.New("the lab's S3 server does not run: `go run mage.go lab:up` first")
		}
		var reports []replicate.DrillReport
		for _, r := range replicas {
			rep, err := replicate.Drill(ctx, r, replicate.DrillOptions{Queries: deployment.DrillQueries})
			reports = append(reports, rep)
			if err != nil {
				replicate.PrintDrills(os.Stdout, reports...)
				return err
			}
		}
		return replicate.PrintDrills(os.Stdout, reports...)
	}
	return fmt.Errorf("unknown command %q: deploy, rollback, plan or drill", args[0])
}
