// Tests of the runner's own code (not FerretDB's): `deploy/local/ferretdb.sh selftest` runs them
// in the build folder, where the module and its caches are.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// aFerretDBDatabase writes a file shaped like one of FerretDB's: its catalogue and one table.
func aFerretDBDatabase(t *testing.T, file string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)") // the mender may hold it
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE _ferretdb_collections (name TEXT, table_name TEXT)`,
		`CREATE TABLE things_1 (_ferretdb_sjson TEXT)`,
		`INSERT INTO _ferretdb_collections VALUES ('things', 'things_1')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// The old mender opened whatever its glob had found, and SQLite created a file dropped since.
func TestMenderNeverCreatesADroppedDatabase(t *testing.T) {
	file := filepath.Join(t.TempDir(), "dropped.sqlite")
	_ = indexDatabase(context.Background(), file)
	if _, err := os.Stat(file); err == nil {
		t.Fatalf("indexing a database that no longer exists created %s", file)
	}
}

// Drops raced against a mender that runs without pause: afterwards the folder holds nothing.
func TestDropsRacedAgainstTheMenderLeaveNoFile(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var menders sync.WaitGroup
	menders.Add(1)
	go func() { defer menders.Done(); indexIDs(ctx, dir, time.Millisecond) }()
	for round := 0; round < 200; round++ {
		file := filepath.Join(dir, fmt.Sprintf("db_%d.sqlite", round%5))
		aFerretDBDatabase(t, file)
		time.Sleep(time.Duration(round%3) * time.Millisecond)
		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	menders.Wait()
	left, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if len(left) > 0 {
		t.Fatalf("dropped databases came back: %v", left)
	}
}

func TestStartMovesAnEmptyFileAsideAndKeepsDatabases(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	aFerretDBDatabase(t, filepath.Join(dir, "kept.sqlite"))
	empty := filepath.Join(dir, "test_grant_uses_37a52179.sqlite")
	db, _ := sql.Open("sqlite", "file:"+empty)
	if _, err := db.Exec(`PRAGMA user_version = 1`); err != nil { // 4,096 bytes, no tables
		t.Fatal(err)
	}
	db.Close()

	if err := checkDataDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kept.sqlite")); err != nil {
		t.Fatalf("a FerretDB database was moved: %v", err)
	}
	if _, err := os.Stat(empty); err == nil {
		t.Fatalf("the empty file is still where FerretDB would open it")
	}
	aside, _ := filepath.Glob(filepath.Join(root, "set-aside", "test_grant_uses_37a52179.sqlite.*"))
	if len(aside) != 1 {
		t.Fatalf("the empty file was not set aside (found %v)", aside)
	}
}

func TestStartRefusesAFileItCannotOpenAndNamesIt(t *testing.T) {
	for name, write := range map[string]func(string){
		"garbage.sqlite": func(f string) { _ = os.WriteFile(f, []byte(strings.Repeat("not sqlite ", 500)), 0o644) },
		"foreign.sqlite": func(f string) {
			db, _ := sql.Open("sqlite", "file:"+f)
			_, _ = db.Exec(`CREATE TABLE orders (id INTEGER)`)
			db.Close()
		},
	} {
		dir := t.TempDir()
		file := filepath.Join(dir, name)
		write(file)
		err := checkDataDir(dir)
		if err == nil || !strings.Contains(err.Error(), file) {
			t.Fatalf("%s: want an error naming the file, got %v", name, err)
		}
		if _, statErr := os.Stat(file); statErr != nil {
			t.Fatalf("%s: a file that may hold data was moved or deleted", name)
		}
	}
}
