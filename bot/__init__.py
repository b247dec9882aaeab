"""The assistant's own code around Rasa: text patterns, the input channel, training and run commands.

Imported by both environments (`.venv-rasa` and `.venv`), so modules here use only the standard
library and PyYAML unless they say otherwise (``bot.channel`` needs Rasa and runs only inside it).
"""
