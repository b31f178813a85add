// MongoDB users: one per service, each with readWrite on its own databases and nothing else
// (issue 23). Only econ-auth reaches kobling_econ_auth_keys, where the data keys that open the
// grants live: a leak from install or status, or their database user, opens no grant. Run once as
// a user administrator, with each service's password in the environment:
//   INSTALL_DB_PASSWORD=… ECON_AUTH_DB_PASSWORD=… STATUS_DB_PASSWORD=… SYNC_DB_PASSWORD=… \
//     mongosh "mongodb://admin@db-0.internal/?authSource=admin&tls=true" deploy/k8s/mongo-users.js
// Each service's MONGODB_URL (in its own Secret) names its user and authSource=admin.
// A status rebuild into a new database (kobling_status.rebuild) needs that database granted too:
//   db.getSiblingDB("admin").grantRolesToUser("kobling-status", [{ role: "readWrite", db: "kobling_status_new" }])
// and revoked from the old one once readers have switched. tests/unit/test_service_secrets.py
// reads the createUser calls below.
const admin = db.getSiblingDB("admin");

admin.createUser({
  user: "kobling-install",
  pwd: process.env.INSTALL_DB_PASSWORD,
  roles: [{ role: "readWrite", db: "kobling_install" }],
});

admin.createUser({
  user: "kobling-econ-auth",
  pwd: process.env.ECON_AUTH_DB_PASSWORD,
  roles: [
    { role: "readWrite", db: "kobling_econ_auth" },
    { role: "readWrite", db: "kobling_econ_auth_keys" },
  ],
});

admin.createUser({
  user: "kobling-status",
  pwd: process.env.STATUS_DB_PASSWORD,
  roles: [{ role: "readWrite", db: "kobling_status" }],
});

// sync's records, settings and customer map (SYNC_DATABASE); it holds no grant and no Stripe token.
admin.createUser({
  user: "kobling-sync",
  pwd: process.env.SYNC_DB_PASSWORD,
  roles: [{ role: "readWrite", db: "kobling_sync" }],
});
