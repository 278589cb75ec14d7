package deploy_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/replicate"
)

// recoveryExampleApp declares its database once, with its replica: the
// recovery and the drills read it from there.
func recoveryExampleApp() deploy.App {
	return deploy.App{
		Service: "shop",
		Image:   "ghcr.io/acme/shop",
		Roles: deploy.Roles{
			"web": {Servers: deploy.Hosts("203.0.113.10"), Proxy: &deploy.Proxy{AppPort: 3000}},
		},
		Volumes: []string{"shop-data:/data"},
		Databases: []deploy.Database{{
			Path:        "/data/shop.db",
			Replication: deploy.ReplicateSidecar,
			Replica:     &replicate.Replica{S3: &replicate.S3{Bucket: "acme-shop", Path: "shop.db"}},
		}},
	}
}

// Recover the declared database to its state before a bad write. The
// restore runs before the downtime; the app, and the Litestream sidecar
// that mounts the same volume, are down only for the swap; the replica
// continues from the restored state before Recover returns.
func ExampleSession_Recover() {
	ctx := context.Background()
	s, err := deploy.Connect(ctx, recoveryExampleApp(), deploy.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	plan, err := s.PlanRecovery(ctx, deploy.Recovery{At: time.Date(2026, 11, 25, 9, 59, 0, 0, time.UTC)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(plan) // the dry run, for the incident notes
	rep, err := s.Recover(ctx, deploy.Recovery{At: plan.At, Message: "Restoring data, back in a minute"})
	if err != nil {
		log.Fatal(err) // it says where things stand; running it again completes it
	}
	fmt.Printf("restore %s before the downtime, downtime %s; the damaged database is at %s\n",
		rep.Restore, rep.Downtime, rep.Aside)
}

// A whole-app drill of the declared database: the disposable copy gets
// neither the replica's credentials nor the env that turns replication
// on, and the report gives the data at risk beside the replica's age.
func ExampleSession_DrillApp() {
	ctx := context.Background()
	s, err := deploy.Connect(ctx, recoveryExampleApp(), deploy.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	rep, err := s.DrillApp(ctx, deploy.AppDrillOptions{Smoke: []deploy.SmokeCheck{{Path: "/", Body: "Shop"}}, Log: ".slipway/drills.jsonl"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("RTO %s; at risk: %s; replica age %s\n", rep.RTO, rep.Risk, rep.Age)
}
