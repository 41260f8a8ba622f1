"""badges: a badge & achievement backend for apps built on Supabase.

The flow, one direction: endpoint (HTTP) → actions (dispatch table) → domain (catalog, rules)
→ store (PostgresStore | SupabaseStore) → SQL functions in supabase/migrations.
"""
