//! The `dealgraph` binary: parse the command line, set up logging, run the chosen command.

use clap::Parser;
use dealgraph::config::{Cli, Command, Config};
use dealgraph::startup::{self, Server};

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
        Command::Token(args) => {
            let verifier = dealgraph::auth::Verifier::from_config(&cli.config)?;
            println!("{}", verifier.mint(&args.tenant, &args.sub, &args.roles, args.ttl)?);
            Ok(())
        }
        Command::Demo => anyhow::bail!("the demo tenant is not available yet"),
        Command::Schema => {
            print!("{}", dealgraph::graphql::sdl());
            Ok(())
        }
    }
}

async fn serve(config: &Config) -> anyhow::Result<()> {
    let server = Server::build(config).await?;
    let addr = server.local_addr();
    tracing::info!(%addr, "dealgraph listening");
    println!("dealgraph is serving GraphQL at http://{addr}/graphql (GraphiQL in a browser)");
    if server.verifier.dev_mode {
        let token = server
            .verifier
            .mint("demo", "demo-admin", &["admin".to_owned()], 12 * 3600)?;
        println!("development admin token for tenant `demo` (12 h):\n\n  {token}\n");
        println!(
            "try:\n  curl -s http://{addr}/graphql -H 'authorization: Bearer {token}' \\\n    -H 'content-type: application/json' -d '{{\"query\":\"{{ viewer {{ userId tenantId roles }} }}\"}}'\n"
        );
    }
    server.run(startup::shutdown_signal()).await?;
    Ok(())
}

fn init_tracing(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
