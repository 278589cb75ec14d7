package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
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

// A recovery's plan prints as the steps a person follows: what happens
// before the downtime (restore, stage), during it, and after. Session.
// PlanRecovery makes it from the hosts; it is built by hand here to show
// its shape.
func ExampleRecoveryPlan_String() {
	plan := deploy.RecoveryPlan{
		Service: "shop", Host: "203.0.113.10", Volume: "shop-data", File: "shop.db", Replica: "s3://acme-shop/shop.db",
		Steps: []deploy.RecoveryStep{
			{Name: "restore", Host: "(local)", Detail: "restore s3://acme-shop/shop.db to a staging file here; PRAGMA integrity_check must say ok"},
			{Name: "stage", Host: "203.0.113.10", Detail: "upload it beside the damaged database"},
			{Name: "maintenance", Host: "203.0.113.10", Role: "web", Detail: "kamal-proxy answers shop-web with a 503 page"},
			{Name: "stop-app", Host: "203.0.113.10", Role: "web", Container: "shop-web-v42", Detail: "stop shop-web-v42"},
			{Name: "swap", Host: "203.0.113.10", Detail: "move shop.db aside, put the restored file in its place"},
			{Name: "start-app", Host: "203.0.113.10", Role: "web", Container: "shop-web-v42", Detail: "start shop-web-v42"},
			{Name: "live", Host: "203.0.113.10", Role: "web", Detail: "kamal-proxy serves shop-web again"},
			{Name: "replica", Host: "(local)", Detail: "wait for a write after the recovery to reach the replica"},
		},
	}
	fmt.Print(plan)
	// Output:
	// Recover shop's database shop.db on 203.0.113.10 (volume shop-data) from s3://acme-shop/shop.db, to the newest replicated state
	//  1. (local)                    restore         restore s3://acme-shop/shop.db to a staging file here; PRAGMA integrity_check must say ok
	//  2. 203.0.113.10               stage           upload it beside the damaged database
	//     -- the app is down from here (maintenance page for users) --
	//  3. 203.0.113.10    web        maintenance     kamal-proxy answers shop-web with a 503 page
	//  4. 203.0.113.10    web        stop-app        stop shop-web-v42
	//  5. 203.0.113.10               swap            move shop.db aside, put the restored file in its place
	//  6. 203.0.113.10    web        start-app       start shop-web-v42
	//  7. 203.0.113.10    web        live            kamal-proxy serves shop-web again
	//     -- the app serves again --
	//  8. (local)                    replica         wait for a write after the recovery to reach the replica
}

// The weekly drill on the database's own host: the restore, the
// integrity check and the queries run there in a disposable container,
// so the RTO is that host's path to the replica and its own disk.
func ExampleSession_DrillOnHost() {
	ctx := context.Background()
	app := recoveryExampleApp()
	s, err := deploy.Connect(ctx, app, deploy.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	r := app.Replicas()[0].ForOperator() // the host gets its own view of the replica
	rep, err := s.DrillOnHost(ctx, "203.0.113.10", r, replicate.DrillOptions{
		Queries: []replicate.Query{{Name: "orders", SQL: "SELECT id FROM orders", MinRows: 1}},
		Log:     ".slipway/drills.jsonl",
	})
	replicate.PrintDrills(os.Stdout, rep)
	if err != nil {
		log.Fatal(err)
	}
}

// The daily check of every declared database: fresh (newer than
// replicate.DefaultMaxAge, for 0) and holding what the host's database
// holds (within replicate.DefaultMaxLag, for 0).
func ExampleSession_VerifyDatabases() {
	ctx := context.Background()
	s, err := deploy.Connect(ctx, recoveryExampleApp(), deploy.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	found, err := s.VerifyDatabases(ctx, 0, 0)
	for _, f := range found {
		fmt.Println(f) // shop.db on 203.0.113.10: s3://acme-shop/shop.db: newest txid ...
	}
	if errors.Is(err, replicate.ErrStale) || errors.Is(err, replicate.ErrBehind) {
		log.Fatal(err) // page someone: the replica is not keeping up
	}
}
