// What the page imports from supabase-js: the client, and the error classes of functions.invoke.
export {
  createClient,
  FunctionsFetchError,
  FunctionsHttpError,
  FunctionsRelayError,
} from '@supabase/supabase-js'
