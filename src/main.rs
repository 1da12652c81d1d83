//! The `dealgraph` binary: parse the command line, set up logging, run the chosen command.

use std::net::SocketAddr;

use clap::Parser;
use dealgraph::auth::Verifier;
use dealgraph::config::{Cli, Command, Config, GenerateArgs, ImportArgs, ImportFormat, TokenArgs};
use dealgraph::seed::demo;
use dealgraph::startup::{self, Server};
use dealgraph::store::{Store, scope};

/// A request allocates and frees thousands of small objects (rows, strings, GraphQL values);
/// glibc's allocator spent about 30 % of the server's CPU on them under load (perf, deal page
/// at 16 clients), mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(&cli.config);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.config).await,
        Command::Migrate => {
            startup::connect(&cli.config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Token(args) => mint_token(&cli.config, &args),
        Command::Demo => load_demo(&cli.config).await,
        Command::Generate(args) => generate(&cli.config, &args).await,
        Command::Import(args) => import(&cli.config, &args).await,
        Command::Schema => {
            print!("{}", dealgraph::graphql::sdl());
            Ok(())
        }
    }
}

/// `dealgraph token`: the token on stdout, which key signed it on stderr. In development mode
/// it signs only with the secret a server already uses: minted with a fresh secret (run from
/// another folder, say), the token would be refused by that server.
fn mint_token(config: &Config, args: &TokenArgs) -> anyhow::Result<()> {
    if config.jwt_secret.is_some() {
        eprintln!("signing with DEALGRAPH_JWT_SECRET (HS256)");
    } else if config.key_configured() {
        anyhow::bail!(
            "a public key (DEALGRAPH_JWT_PUBLIC_KEY or DEALGRAPH_JWKS_PATH) is configured: \
             mint tokens with your identity provider"
        );
    } else {
        let secret = dealgraph::auth::dev_secret_path(config);
        if !secret.exists() {
            anyhow::bail!(
                "development mode, and there is no development secret at {} yet: start the server \
                 (`dealgraph serve`) with the same DATABASE_URL first, or run this where it runs, or \
                 set DEALGRAPH_JWT_SECRET",
                secret.display()
            );
        }
        eprintln!(
            "signing with the development secret in {} (HS256, development mode)",
            secret.display()
        );
    }
    let verifier = dealgraph::auth::Verifier::from_config(config)?;
    println!("{}", verifier.mint(&args.tenant, &args.sub, &args.roles, args.ttl)?);
    Ok(())
}

async fn serve(config: &Config) -> anyhow::Result<()> {
    let server = Server::build(config).await?;
    let addr = server.local_addr();
    if config.loads_demo() {
        load_demo_into_empty_database(server.store()).await;
    }
    tracing::info!(%addr, "dealgraph listening");
    print_welcome(config, &server.verifier, addr)?;
    server.run(startup::shutdown_signal()).await?;
    Ok(())
}

/// `DEALGRAPH_DEMO=1` on a brand-new database: load the demo tenant so there is something to
/// look at. A failure is reported but does not stop the server, which is useful without it.
async fn load_demo_into_empty_database(store: &Store) {
    match scope::database_is_empty(store.reader()).await {
        Ok(true) => match demo::load(store).await {
            Ok(report) => {
                tracing::info!(%report, "demo tenant loaded");
                println!("{report} (DEALGRAPH_DEMO=0 skips this)");
            }
            Err(err) => tracing::warn!(error = %err, "could not load the demo tenant; serving without it"),
        },
        Ok(false) => {}
        Err(err) => tracing::warn!(error = %err, "could not tell whether the database is empty; demo not loaded"),
    }
}

/// `dealgraph demo`: loads the demo tenant into the configured database (refused if the tenant
/// `demo` already has data) and prints a token to explore it with, when one can be minted here.
async fn load_demo(config: &Config) -> anyhow::Result<()> {
    let store = startup::connect(config).await?;
    let loaded = demo::load(&store).await;
    store.close().await;
    println!("{}", loaded?);
    let verifier = Verifier::from_config(config)?;
    match mint_demo_admin(&verifier) {
        Ok(token) => {
            println!("\nadmin token for tenant `{}` (12 h):\n\n  {token}\n", demo::TENANT);
            println!(
                "start the server with `dealgraph serve` and open http://{}/graphql",
                config.addr
            );
        }
        Err(_) => println!("{}", mint_hint(config)),
    }
    Ok(())
}

/// `dealgraph import`: straight into `DATABASE_URL`, progress on stderr, the summary as JSON
/// on stdout; an error exit when anything was rejected.
async fn import(config: &Config, args: &ImportArgs) -> anyhow::Result<()> {
    use dealgraph::ingest;
    use tokio::io::{AsyncBufRead, BufReader};
    let ctx = ingest::operator(&args.tenant)?;
    if args.format == ImportFormat::Salesforce {
        return import_salesforce(config, args, &ctx).await;
    }
    let input: Box<dyn AsyncBufRead + Unpin + Send> = if args.path.as_os_str() == "-" {
        Box::new(BufReader::new(tokio::io::stdin()))
    } else {
        let file = tokio::fs::File::open(&args.path)
            .await
            .map_err(|err| anyhow::anyhow!("cannot open {}: {err}", args.path.display()))?;
        Box::new(BufReader::with_capacity(1 << 16, file))
    };
    let store = startup::connect(config).await?;
    let bar = progress_bar(args.no_progress);
    let started = std::time::Instant::now();
    let mut progress = |summary: &ingest::Summary| show_progress(&bar, started, summary);
    let options = ingest::Options { atomic: args.atomic };
    let outcome = ingest::ndjson(&ctx, &store, input, options, &mut progress).await;
    bar.finish_and_clear();
    store.close().await;
    report_import(outcome?)
}

/// `dealgraph import --format salesforce DIR`: the export converted, then imported as records.
async fn import_salesforce(
    config: &Config,
    args: &ImportArgs,
    ctx: &dealgraph::domain::TenantCtx,
) -> anyhow::Result<()> {
    use dealgraph::ingest::{self, salesforce};
    let mut mapping = salesforce::Mapping::defaults();
    if let Some(path) = &args.mapping {
        let text = std::fs::read_to_string(path)
            .map_err(|err| anyhow::anyhow!("cannot read the mapping {}: {err}", path.display()))?;
        mapping = mapping
            .merged_with_toml(&text)
            .map_err(|err| anyhow::anyhow!("the mapping {}: {err}", path.display()))?;
    }
    let export = salesforce::read_dir(&args.path, &mapping, &args.currency).map_err(anyhow::Error::msg)?;
    let records = export.items.into_iter().map(Into::into).collect();
    let store = startup::connect(config).await?;
    let bar = progress_bar(args.no_progress);
    let started = std::time::Instant::now();
    let mut progress = |summary: &ingest::Summary| show_progress(&bar, started, summary);
    let options = ingest::Options { atomic: args.atomic };
    let outcome = ingest::converted(ctx, &store, records, export.skipped, options, &mut progress).await;
    bar.finish_and_clear();
    store.close().await;
    report_import(outcome?)
}

fn progress_bar(hidden: bool) -> indicatif::ProgressBar {
    if hidden {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner()
    }
}

fn show_progress(bar: &indicatif::ProgressBar, started: std::time::Instant, summary: &dealgraph::ingest::Summary) {
    let rate = summary.read() as f64 / started.elapsed().as_secs_f64().max(0.001);
    bar.set_message(format!(
        "{} records ({rate:.0}/s), {} rejected",
        summary.read(),
        summary.rejected
    ));
    bar.tick();
}

/// The summary on stdout; an error exit when anything was rejected.
fn report_import(summary: dealgraph::ingest::Summary) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&summary)?);
    if summary.rejected > 0 {
        anyhow::bail!(
            "{} of {} records rejected{}",
            summary.rejected,
            summary.read(),
            if summary.rolled_back {
                "; nothing was written (--atomic)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// `dealgraph generate`: writes the benchmark data set and prints what it wrote; with
/// `--ndjson`, writes it as a record stream instead (no database), the summary on stderr.
async fn generate(config: &Config, args: &GenerateArgs) -> anyhow::Result<()> {
    let plan = dealgraph::seed::generate::Plan {
        tenant: args.tenant.clone(),
        deals: args.deals,
        other_tenants: args.other_tenants,
        other_deals: args.other_deals,
        members: args.members,
        interactions_per_deal: args.interactions_per_deal,
        days: args.days,
        seed: args.seed,
        as_of: args.as_of.unwrap_or_else(dealgraph::service::now),
        replace: args.replace,
        risk: args.risk,
        progress: !args.no_progress,
    };
    if let Some(path) = &args.ndjson {
        return generate_ndjson(&plan, path);
    }
    let store = startup::connect(config).await?;
    let generated = dealgraph::seed::generate::run(&store, &plan).await;
    store.close().await;
    println!("{}", generated?);
    Ok(())
}

/// `dealgraph generate --ndjson PATH`: the records to PATH (`-`: standard output), so the
/// summary goes to standard error.
fn generate_ndjson(plan: &dealgraph::seed::generate::Plan, path: &std::path::Path) -> anyhow::Result<()> {
    use dealgraph::seed::generate::ndjson;
    let report = if path.as_os_str() == "-" {
        ndjson::write(plan, std::io::stdout().lock())?
    } else {
        let file =
            std::fs::File::create(path).map_err(|err| anyhow::anyhow!("cannot create {}: {err}", path.display()))?;
        ndjson::write(plan, file)?
    };
    eprintln!("{report}");
    Ok(())
}

fn mint_demo_admin(verifier: &Verifier) -> Result<String, dealgraph::auth::KeyError> {
    verifier.mint(demo::TENANT, "demo-admin", &["admin".to_owned()], 12 * 3600)
}

/// How to get a token when the server does not print one.
fn mint_hint(config: &Config) -> String {
    if config.jwt_secret.is_some() {
        format!(
            "mint a token with the configured secret: dealgraph token --tenant {} --sub you --role admin --ttl 8h",
            demo::TENANT
        )
    } else {
        format!(
            "tokens come from your identity provider (signed with the configured public key), with claims \
             sub, tid (e.g. \"{}\"), roles and exp",
            demo::TENANT
        )
    }
}

/// The deal board, riskiest open deals first: the query to try first.
const BOARD_QUERY: &str = "{ opportunities(first: 10, orderBy: {field: RISK_SCORE, direction: DESC}, filter: {open: true}) \
     { edges { node { name riskScore riskLevel riskFactorCodes account { name } } } } }";

/// One deal's live risk, every factor explained: why the story deal is CRITICAL.
fn story_query() -> String {
    format!(
        "{{ opportunities(first: 1, filter: {{nameContains: \"{}\"}}) {{ edges {{ node {{ name daysInStage \
         risk {{ score level factors {{ code message recommendation }} }} }} }} }} }}",
        demo::STORY_DEAL
    )
}

/// The story deal's next steps: whom to meet directly, and what each meeting would change.
fn story_plan_query() -> String {
    format!(
        "{{ opportunities(first: 1, filter: {{nameContains: \"{}\"}}) {{ edges {{ node {{ name \
         nextSteps {{ current {{ score level }} steps {{ meet {{ contact {{ fullName title }} }} scoreAfter levelAfter \
         clears message }} reachable {{ score level factorCodes }} }} }} }} }} }}",
        demo::STORY_DEAL
    )
}

/// Where to point a browser, a token (in development mode) or how to get one, and queries
/// that show the demo.
fn print_welcome(config: &Config, verifier: &Verifier, addr: SocketAddr) -> anyhow::Result<()> {
    println!("dealgraph is serving GraphQL at http://{addr}/graphql (open it in a browser for GraphiQL)\n");
    let header_token = if verifier.dev_mode {
        let token = mint_demo_admin(verifier)?;
        println!(
            "development admin token for tenant `{}` (12 h):\n\n  {token}\n",
            demo::TENANT
        );
        token
    } else {
        println!("{}\n", mint_hint(config));
        "<token>".to_owned()
    };
    println!("in GraphiQL's Headers tab, set:\n\n  {{\"Authorization\": \"Bearer {header_token}\"}}\n");
    println!("then try the deal board, riskiest first:\n\n  {BOARD_QUERY}\n");
    println!("and ask the riskiest deal why, in words:\n\n  {}\n", story_query());
    println!(
        "and what to do about it: the conversations that lower its risk most, with numbers:\n\n  {}\n",
        story_plan_query()
    );
    println!(
        "or, from a shell with TOKEN set to the token:\n\n  curl -s http://{addr}/graphql -H \"authorization: Bearer $TOKEN\" \\\n    \
         -H 'content-type: application/json' -d '{{\"query\":\"{BOARD_QUERY}\"}}'\n"
    );
    Ok(())
}

fn init_tracing(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    // Colours for a terminal only: a log file or collector gets plain text.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
