"""Everything after the bot: durable conversation records now; queue, agents and tickets to come."""
