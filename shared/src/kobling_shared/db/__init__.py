"""The one door to the database: the needs (ports), their MongoDB implementation (mongodb), the
embedded demo database's (in one module of its own), and the choice between them, made where each
app is built (choice)."""
