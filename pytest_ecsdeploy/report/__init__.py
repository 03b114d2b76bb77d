"""What happened, for people and for Octopus: the deployment record, Octopus service messages, the summary.

Nothing here imports pytest: the session object hands the record to these modules and writes what they return.
"""
