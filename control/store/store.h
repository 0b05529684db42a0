// The durable, versioned resource store of the control plane, with its
// tamper-evident audit log.
//
// Design
// ------
// One SQLite database, `<state dir>/tierwall.db`, opened by one process at a
// time (an exclusive flock on `<state dir>/LOCK` keeps a second daemon out).
// Tables:
//   meta       key/value; `revision` is the global revision counter.
//   resources  one row per identity ever seen: kind (canonical, see below),
//              namespace ("" for global kinds), name, the revision of its last
//              change, the YAML of its current version and a deleted flag.
//   versions   every version of every resource: (resource, revision, verb,
//              yaml (NULL for a deletion), time, user).
//   audit      one record per changed resource: seq, revision, time (RFC 3339,
//              UTC), user, verb, identity, before and after YAML (NULL where
//              the resource did not exist), prev_hash and
//              hash = SHA-256(prev_hash + canonical record) in lowercase hex.
//              The first record's prev_hash is 64 '0's. The canonical
//              record is seq, revision, time, user, verb, kind, namespace,
//              name, before, after, each as "<byte length>:<bytes>;" (NULL as
//              "~;"): unambiguous for any bytes, no escaping rules.
//              VerifyAudit also checks that seqs run 1..n without gaps and
//              that the last record's revision is the revision counter.
//
// A change (`Commit`) is one SQLite transaction: a batch of mutations
// (verb + one YAML document) by one user. The batch gets exactly one new
// revision from the global counter; every mutated resource gets a versions row
// and an audit record in that same transaction, so a crash leaves either all
// of it or none of it. Any error rolls the whole batch back.
//
// Why SQLite with WAL and synchronous=FULL (rather than a home-made append-only
// log with snapshot renames): SQLite gives atomic multi-row transactions, crash
// recovery and indexes for history/diff queries for free, and is one of the most
// tested storage engines there is. In WAL mode a commit appends to the
// write-ahead log and readers never block the writer. With synchronous=FULL the
// WAL is fsync'ed at every commit, so a transaction that returned is durable
// across power loss, not only across a process crash (synchronous=NORMAL in WAL
// mode may lose the last commits on power loss, which would break "nothing
// committed is lost"). Policy changes are rare and small, so the one fsync per
// commit costs nothing that matters.
//
// Stored YAML is canonical: each document is parsed and re-emitted in block
// style (quoted scalars stay quoted, multi-line strings become literal blocks,
// comments and flow style go), with metadata.resourceVersion removed. YAML and
// JSON input of the same resource therefore store the same text, and diffs are
// line-per-field. Get/List hand the YAML back with metadata.resourceVersion set
// to the resource's revision, so `get -o yaml | apply` is optimistic concurrency.
//
// Identity: (kind, namespace, name) from apiVersion/kind/metadata. Kinds are
// canonical: Calico kinds keep their names, Kubernetes
// networking.k8s.io/v1 NetworkPolicy is "KubernetesNetworkPolicy", v1
// Namespace is "Namespace". Namespaced kinds default to namespace "default"
// (as kubectl and calicoctl do); global kinds must not carry a namespace.
// Names are kept as given (Calico policy names with their tier prefix).
//
// Optimistic concurrency: a mutation may carry a resource version (in
// metadata.resourceVersion or in `Mutation::expected_revision`); when it does
// and it is not the resource's current revision (or the resource is not live)
// the batch fails with ABORTED.
//
// Limits of tamper evidence: the hash chain shows any edit, insertion or
// deletion inside the audit log, but not a cut of its tail or a rewrite of the
// whole chain by someone with write access to the file; the chain head file
// (below) and the latest hash twctl prints close that.
//
// Start-up integrity (Open). The database is only trusted to run if:
//   - `PRAGMA integrity_check` passes (quick_check does not compare indexes
//     with their tables, and a lookup through a damaged index would silently
//     miss rows; the store is small, so the full check costs milliseconds);
//   - the audit chain verifies (VerifyAudit);
//   - every resource row and every versions row is what the audit chain's
//     records for it say (a row edited with sqlite3 would otherwise change
//     the enforced policy while `audit verify` says OK);
//   - the chain head file `<dir>/HEAD` ("<revision> <hash>", written
//     atomically and fsynced after every commit, outside the database) names
//     the database's last revision and hash. A database behind it lost
//     acknowledged revisions (a deleted or damaged WAL after a crash, an old
//     copy restored): SQLite drops WAL frames that fail their checksums
//     without an error, so only a record kept elsewhere notices. One commit
//     ahead of it is the crash between the commit and the head write, and is
//     accepted (the head is rewritten).
// Otherwise Open fails with DATA_LOSS naming the revision, unless
// Options::recover: then the resources and versions tables are rebuilt from
// the audit chain (when its hashes link up, even with records cut off the
// end; a broken chain leaves them as they are, `audit verify` keeps naming
// the bad record and every start needs the option again), one audit record
// (verb "recover", kind "Store", name "tierwall.db", after = what was found)
// is committed as a new revision, and the head file names it.
//
// Thread-safe: one connection behind a mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct sqlite3;

namespace tierwall::ctl::store {

// What a mutation does. Audit records carry the verb's name.
enum class Verb {
  kCreate,    // ALREADY_EXISTS if live
  kReplace,   // NOT_FOUND if not live
  kApply,     // create or replace
  kDelete,    // NOT_FOUND if not live; only the identity of the document counts
  kStage,     // apply semantics, audited as "stage" (a Staged* resource)
  kEnforce,   // apply semantics, audited as "enforce" (staged -> enforced)
  kRollback,  // apply semantics, audited as "rollback" (see Store::Rollback)
};
std::string_view VerbName(Verb verb);

struct Identity {
  std::string kind;        // canonical kind, e.g. "NetworkPolicy"
  std::string namespace_;  // "" for global kinds
  std::string name;

  // "Kind/namespace/name", or "Kind/name" for global kinds.
  std::string ToString() const;
  friend bool operator==(const Identity&, const Identity&) = default;
  friend auto operator<=>(const Identity&, const Identity&) = default;
};

// The identity of one YAML (or JSON) document; INVALID_ARGUMENT when it has no
// kind/name, an unknown kind, or a namespace on a global kind.
absl::StatusOr<Identity> IdentityOf(std::string_view yaml_document);

// Whether the canonical kind lives in a namespace.
bool IsNamespacedKind(std::string_view kind);

// Splits a multi-document YAML text (a file given to `apply -f`) into one
// canonical document per resource, expanding `kind: List` and `kind: <Kind>List`
// wrappers (whose items may leave out apiVersion/kind). Empty documents are
// skipped. INVALID_ARGUMENT ("doc N: ...") on a syntax error.
absl::StatusOr<std::vector<std::string>> SplitDocuments(std::string_view text);

struct Mutation {
  Verb verb = Verb::kApply;
  // Exactly one YAML/JSON document. For kDelete it may be empty when
  // `identity` is set.
  std::string yaml;
  std::optional<Identity> identity;  // only for kDelete without yaml
  // The resource version the caller last saw; combined with
  // metadata.resourceVersion (both set and different: INVALID_ARGUMENT).
  std::optional<int64_t> expected_revision;
};

struct Change {
  std::string user;  // the authenticated user the audit record names
  std::vector<Mutation> mutations;
};

struct Resource {
  Identity identity;
  int64_t revision = 0;  // revision of its last change
  std::string yaml;      // canonical, with metadata.resourceVersion = revision
};

struct HistoryEntry {
  int64_t revision = 0;
  std::string time;  // RFC 3339 UTC, e.g. "2024-05-01T12:00:00.123Z"
  std::string user;
  std::string verb;
};

struct AuditRecord {
  int64_t seq = 0;
  int64_t revision = 0;
  std::string time;
  std::string user;
  std::string verb;
  Identity identity;
  std::optional<std::string> before_yaml;  // nullopt: did not exist
  std::optional<std::string> after_yaml;   // nullopt: deleted
  std::string prev_hash;
  std::string hash;
};

struct Snapshot {
  int64_t revision = 0;  // the store's revision this state is at
  std::string yaml;      // every live resource, "---"-separated, sorted by identity
};

struct Options {
  // Called inside the transaction with the state the batch would produce
  // (every live resource as one multi-document YAML, as CurrentYaml returns
  // it); an error aborts the batch and is returned as is. The daemon plugs in
  // the model loader and the compiler here (e.g. FAILED_PRECONDITION for a
  // policy naming a missing tier). Not set: no semantic validation.
  std::function<absl::Status(const std::string& new_state_yaml)> validate;
  // A document larger than this is INVALID_ARGUMENT.
  size_t max_document_bytes = 1 << 20;
  // Clock for audit times (tests); not set: the system clock.
  std::function<int64_t()> now_unix_millis;
  // Start despite failed integrity checks, repairing and auditing as
  // described above (tierwalld --recover-store); the record names this user.
  bool recover = false;
  std::string recover_user = "system:admin";
};

class Store {
 public:
  // Opens (creating if needed) the store in `dir` (created if missing).
  // FAILED_PRECONDITION if another process (or Store) holds it.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir, Options options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies the batch atomically; returns the new revision.
  // INVALID_ARGUMENT "doc <i>: ..." (i from 1, the mutation's position) for a bad
  // document, a duplicate identity in the batch or an empty batch;
  // ALREADY_EXISTS, NOT_FOUND, ABORTED as described on Verb and above.
  // A mutation that would write exactly what is stored (same canonical YAML)
  // writes nothing and is listed in `unchanged`; when every mutation is such,
  // there is no new revision and the current one is returned.
  absl::StatusOr<int64_t> Commit(const Change& change, std::vector<Identity>* unchanged = nullptr);
  // Everything Commit checks (including Options::validate), then rolls back;
  // returns the revision the batch would get (the current one if it would
  // change nothing).
  absl::StatusOr<int64_t> DryRun(const Change& change, std::vector<Identity>* unchanged = nullptr);

  // Re-applies the version of `id` as of `revision` as a new revision (verb
  // rollback). NOT_FOUND if the resource did not exist at that revision.
  absl::StatusOr<int64_t> Rollback(const Identity& id, int64_t revision, const std::string& user);

  // The latest committed revision (0 for an empty store).
  absl::StatusOr<int64_t> CurrentRevision();
  // A live resource; NOT_FOUND otherwise.
  absl::StatusOr<Resource> Get(const Identity& id);
  // Live resources, sorted by identity; an empty filter matches everything.
  absl::StatusOr<std::vector<Resource>> List(std::string_view kind = "",
                                             std::string_view namespace_ = "");
  // Every live resource as one multi-document YAML (what the daemon compiles).
  absl::StatusOr<std::string> CurrentYaml();
  absl::StatusOr<Snapshot> CurrentSnapshot();

  // Every version of `id`, oldest first; NOT_FOUND if it never existed.
  absl::StatusOr<std::vector<HistoryEntry>> History(const Identity& id);
  // The YAML of `id` as it was at `revision` (its latest version at or before
  // it); NOT_FOUND if it did not exist then.
  absl::StatusOr<std::string> VersionAt(const Identity& id, int64_t revision);
  // Unified diff of the YAML of `id` between `from_revision` and `to_revision`
  // (nullopt: now). Headers "--- <identity>@<rev>" / "+++ <identity>@<rev>";
  // a side where it did not exist diffs as empty. "" when equal. NOT_FOUND if
  // it exists at neither.
  absl::StatusOr<std::string> Diff(const Identity& id, int64_t from_revision,
                                   std::optional<int64_t> to_revision = std::nullopt);

  // Audit records with seq > after_seq, at most `limit` (0: all), by seq.
  absl::StatusOr<std::vector<AuditRecord>> Audit(int64_t after_seq = 0, size_t limit = 0);
  // Recomputes the hash chain: OK, or DATA_LOSS naming the first bad seq.
  absl::Status VerifyAudit();

  // What Open's recovery found ("" when the store opened clean).
  const std::string& recovered() const { return recovered_; }

 private:
  Store(sqlite3* db, int lock_fd, std::string dir, Options options);
  // The hash chain; with `check_counter`, also that the last record is the
  // revision counter's (a cut tail).
  absl::Status VerifyAuditLocked(bool check_counter);
  // The start-up checks (above); DATA_LOSS naming the revision.
  absl::Status CheckIntegrityLocked();
  absl::Status CheckRowsAgainstAuditLocked();
  absl::Status CheckHeadLocked();
  // Rebuilds from the chain, audits the recovery of `problem`, rewrites HEAD.
  absl::Status RecoverLocked(const std::string& problem);
  // Writes `<dir>/HEAD` for the database's last audit record, atomically.
  absl::Status WriteHeadLocked();
  absl::StatusOr<int64_t> CommitLocked(const Change& change, bool dry_run,
                                       std::vector<Identity>* unchanged);
  absl::StatusOr<std::string> VersionAtLocked(const Identity& id, int64_t revision, bool* exists);
  // VersionAtLocked, NOT_FOUND when it did not exist then.
  absl::StatusOr<std::string> ExistingVersionLocked(const Identity& id, int64_t revision);

  std::mutex mu_;
  sqlite3* db_;
  int lock_fd_;
  std::string dir_;
  Options options_;
  std::string recovered_;
};

}  // namespace tierwall::ctl::store
